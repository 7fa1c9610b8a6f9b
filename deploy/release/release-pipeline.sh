#!/usr/bin/env bash
# Release pipeline for a new prediction-node build: build the image, check it
# against every model the staging cluster serves (`switchyard validate`), and
# only when that passes roll it out to the node Deployment.
#
#   IMAGE=registry.example.com/switchyard:0.2.0 STAGING_CONTEXT=staging ./deploy/release/release-pipeline.sh
#
# Variables (defaults in brackets):
#   IMAGE               image to build, push and roll out (required)
#   STAGING_CONTEXT     kubectl context of the staging cluster (required)
#   PROD_CONTEXT        also roll out here after staging, when set []
#   NAMESPACE           [switchyard]
#   SWITCHYARD_PREFIX   etcd key prefix of the cluster [/switchyard/]
#   SWITCHYARD_TOKEN    viewer token of the staging control planes (exported; read by the CLI)
#   AGAINST_NODE        1: also compare with a running staging node (the old build) [1]
#   REQUIRE_SAMPLES     1: a version without golden outputs fails the release [0]
#   REPORT_DIR          where validate.json and validate.xml (JUnit) go [./reports]
#   SKIP_BUILD          1: IMAGE is already built and pushed [0]
#   DRY_RUN             1: print the commands instead of running them [0]
#
# Exit: 0 rolled out; 1 validation FAILED (the build changes answers);
# 7 some version could not be checked (fetch/load error); anything else: a
# step of the pipeline failed. Nothing is rolled out unless validate exits 0.
set -euo pipefail

: "${IMAGE:?set IMAGE, e.g. registry.example.com/switchyard:0.2.0}"
: "${STAGING_CONTEXT:?set STAGING_CONTEXT to the kubectl context of the staging cluster}"
NAMESPACE="${NAMESPACE:-switchyard}"
SWITCHYARD_PREFIX="${SWITCHYARD_PREFIX:-/switchyard/}"
AGAINST_NODE="${AGAINST_NODE:-1}"
REQUIRE_SAMPLES="${REQUIRE_SAMPLES:-0}"
REPORT_DIR="${REPORT_DIR:-$PWD/reports}"
SKIP_BUILD="${SKIP_BUILD:-0}"
DRY_RUN="${DRY_RUN:-0}"

# Local ports the staging services are forwarded to (the runner is outside the cluster).
ETCD_PORT=22379
CONTROL_PLANE_PORT=27000
NODE_PORT=28001

run() {
  echo "+ $*" >&2
  if [[ "$DRY_RUN" != 1 ]]; then "$@"; fi
}

forwards=()
cleanup() {
  for pid in "${forwards[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# Forwards a staging resource's port to 127.0.0.1 in the background.
forward() {
  echo "+ kubectl --context $STAGING_CONTEXT -n $NAMESPACE port-forward $1 $2" >&2
  [[ "$DRY_RUN" == 1 ]] && return 0
  kubectl --context "$STAGING_CONTEXT" -n "$NAMESPACE" port-forward "$1" "$2" >/dev/null &
  forwards+=("$!")
  local port="${2%%:*}"
  for _ in $(seq 1 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "port-forward of $1 did not come up on 127.0.0.1:$port" >&2
  exit 3
}

# 1. Build and push the candidate image.
if [[ "$SKIP_BUILD" != 1 ]]; then
  run docker build -f deploy/docker/Dockerfile -t "$IMAGE" .
  run docker push "$IMAGE"
fi

# 2. Validate the candidate against everything staging serves. The control
# planes' registered addresses are in-cluster names, so the forwarded one is
# passed explicitly. A staging node still runs the old build: --against
# compares the two builds' answers sample by sample.
forward svc/etcd "$ETCD_PORT:2379"
forward svc/switchyard-control-plane "$CONTROL_PLANE_PORT:7000"
VALIDATE_ARGS=(
  validate
  --etcd "http://127.0.0.1:$ETCD_PORT"
  --prefix "$SWITCHYARD_PREFIX"
  --control-plane "127.0.0.1:$CONTROL_PLANE_PORT"
  --concurrency 2
  --max-memory 4GiB
  --timeout 120s
  --report-json /reports/validate.json
  --report-junit /reports/validate.xml
)
if [[ "$AGAINST_NODE" == 1 ]]; then
  forward deployment/switchyard-node "$NODE_PORT:8001"
  VALIDATE_ARGS+=(--against "127.0.0.1:$NODE_PORT")
fi
if [[ "$REQUIRE_SAMPLES" == 1 ]]; then VALIDATE_ARGS+=(--require-samples); fi

mkdir -p "$REPORT_DIR"
status=0
# --network host: the container reaches the port-forwards on the runner's loopback.
# --user: the reports land in REPORT_DIR owned by the runner, not the image's user.
run docker run --rm --network host --user "$(id -u):$(id -g)" -e SWITCHYARD_TOKEN -v "$REPORT_DIR:/reports" "$IMAGE" "${VALIDATE_ARGS[@]}" || status=$?
case "$status" in
  0) echo "validation passed; rolling out $IMAGE" >&2 ;;
  1) echo "validation FAILED: $IMAGE changes what a production model answers (see $REPORT_DIR/validate.xml); not rolling out" >&2; exit 1 ;;
  7) echo "some versions could not be checked (fetch or load error, see $REPORT_DIR/validate.json); not rolling out" >&2; exit 7 ;;
  *) echo "switchyard validate exited $status; not rolling out" >&2; exit "$status" ;;
esac
cleanup
forwards=()

# 3. Roll out: the node Deployment surges one new pod at a time and waits for
# it to load every routed model (readiness) before an old node drains.
rollout() {
  run kubectl --context "$1" -n "$NAMESPACE" set image deployment/switchyard-node "node=$IMAGE"
  run kubectl --context "$1" -n "$NAMESPACE" rollout status deployment/switchyard-node --timeout 15m
}
rollout "$STAGING_CONTEXT"
if [[ -n "${PROD_CONTEXT:-}" ]]; then rollout "$PROD_CONTEXT"; fi
echo "rolled out $IMAGE" >&2
