#!/bin/sh
# A stand-in for `cargo build`: "compiles" each crate into target/<type>/deps only when its
# sources are newer than its object, then links the objects into one executable. Run it
# twice with the same target folder (the cache mount) and the second run compiles nothing.
set -eu
build_type=${1:?usage: build.sh dev|release}
out=target/$build_type
mkdir -p "$out/deps"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml)

for crate in gpui editor zed; do
    object=$out/deps/$crate.o
    sources=$(ls crates/$crate/src/*.sh)
    if [ -f "$object" ] && [ -z "$(find crates/$crate/src -newer "$object")" ]; then
        echo "       Fresh $crate v$version"
        continue
    fi
    echo "   Compiling $crate v$version ($build_type)"
    if [ "$build_type" = release ]; then
        # Release drops comments, the way an optimised build drops debug info.
        cat $sources | grep -v '^[[:space:]]*#' > "$object"
    else
        cat $sources > "$object"
    fi
done

{
    echo '#!/bin/sh'
    echo "ZED_VERSION=$version"
    echo "ZED_BUILD_TYPE=$build_type"
    cat "$out/deps/gpui.o" "$out/deps/editor.o" "$out/deps/zed.o"
} > "$out/zed"
chmod 755 "$out/zed"
echo "    Finished $build_type target: $(wc -c < "$out/zed") bytes"
