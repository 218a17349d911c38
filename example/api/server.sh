#!/bin/sh
# Stands in for the Go API server.
echo "helix-api (@STAGE@, stage $HELIX_STAGE)"
