#!/bin/sh
# Builds an image's runtime virtualenv, in two steps so an image rebuilds its dependency
# layer only when its lock changes. Run from the repository root (the build context's layout);
# the Dockerfiles run it, and tests/deploy/test_image_envs.py runs it the same way.
#   build-venv.sh deps <venv> <image>      the image's hashed runtime lock (<image>/requirements.lock)
#   build-venv.sh packages <venv> <image>  our packages as wheels, without dependencies (the lock
#                                          has them all), built by the hashed build backend
#                                          (deploy/docker/build.lock); then `uv pip check`
set -eu
step=$1
venv=$2
image=$3
export VIRTUAL_ENV="$venv"
case "$step" in
  deps)
    uv venv --quiet --python 3.11 "$venv"
    uv pip sync --quiet --require-hashes --only-binary :all: "$image/requirements.lock"
    ;;
  packages)
    uv pip install --quiet --no-deps --build-constraints deploy/docker/build.lock \
      --require-build-hashes ./libs/proto ./libs/kit "./$image"
    uv pip check --quiet
    ;;
  *)
    echo "build-venv.sh: unknown step '$step' (deps | packages)" >&2
    exit 2
    ;;
esac
