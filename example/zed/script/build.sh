#!/bin/sh
# A stand-in for `cargo build`: "compiles" each crate into target/<type>/deps only when its
# sources changed since the object was made (a checksum kept beside the object, since file
# times inside a build are too coarse), then links the objects into one executable. Run it
# twice with the same target folder (the cache mount) and the second run compiles nothing.
set -eu
build_type=${1:?usage: build.sh dev|release}
out=target/$build_type
mkdir -p "$out/deps"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml)

for crate in gpui editor zed; do
    object=$out/deps/$crate.o
    fingerprint=$(cat crates/$crate/src/*.sh | md5sum | cut -d' ' -f1)
    if [ -f "$object" ] && [ "$(cat "$object.fingerprint" 2>/dev/null)" = "$fingerprint" ]; then
        echo "       Fresh $crate v$version"
        continue
    fi
    echo "   Compiling $crate v$version ($build_type)"
    if [ "$build_type" = release ]; then
        # Release drops comments, the way an optimised build drops debug info.
        cat crates/$crate/src/*.sh | grep -v '^[[:space:]]*#' > "$object"
    else
        cat crates/$crate/src/*.sh > "$object"
    fi
    echo "$fingerprint" > "$object.fingerprint"
done

{
    echo '#!/bin/sh'
    echo "ZED_VERSION=$version"
    echo "ZED_BUILD_TYPE=$build_type"
    cat "$out/deps/gpui.o" "$out/deps/editor.o" "$out/deps/zed.o"
} > "$out/zed"
chmod 755 "$out/zed"
echo "    Finished $build_type target: $(wc -c < "$out/zed") bytes"
