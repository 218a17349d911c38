#!/bin/sh
# Stands in for the model runner.
echo "helix-runner: no GPU here"
