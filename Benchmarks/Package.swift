// swift-tools-version: 6.1
// package-benchmark suites for the core's hot operations, kept out of the main package so that
// `make test` does not build the benchmark tool. Run from this folder:
//   swift package benchmark                      # run and print
//   swift package benchmark baseline update main # keep a baseline
//   swift package benchmark baseline compare main
import PackageDescription

let package = Package(
    name: "malten-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "malten", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MaltenCore", package: "malten"),
            ],
            path: "Benchmarks/CoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ],
    swiftLanguageModes: [.v6]
)
