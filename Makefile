# The two set-up commands: `make run` (embedded default) and `make test`.
.PHONY: run test build deps bench clean

run:
	scripts/run.sh

test:
	scripts/test.sh

# Only builds; the binary is build/refinery.
build:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j$$(nproc) --target refinery

deps:
	scripts/install-deps.sh

bench: build
	cmake --build build -j$$(nproc) --target ingest_bench
	build/ingest_bench

clean:
	rm -rf build build-asan
