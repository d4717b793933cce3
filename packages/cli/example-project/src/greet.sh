#!/bin/sh
# Greets whoever is named on the command line.
echo "Hello, ${1:-world}!"
