#!/bin/sh
set -eu
echo "building greet $(cat VERSION)"
rm -rf dist
mkdir -p dist
cp src/greet.sh dist/greet
chmod 755 dist/greet
ln -s greet dist/hello
cp VERSION dist/
cp -R test dist/
echo "dist/ contains: $(ls dist | tr '\n' ' ')"
