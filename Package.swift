// swift-tools-version: 6.1
import PackageDescription

/// How the executables are linked on Linux: with lld, packed relative relocations and no exported
/// symbol table, start-up touches about 2 MB less of the binary (idle RSS; see README, Memory).
let leanLinking: [LinkerSetting] = [
    .unsafeFlags(
        ["-use-ld=lld", "-Xlinker", "--no-export-dynamic", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"],
        .when(platforms: [.linux])
    )
]

/// `malten serve`'s functions laid out first and together (the list is written by
/// Benchmarks/symbol-order.sh; `make build` compiles every function into a section of its own so
/// that lld can move it): starting and serving touch a few dense pages of code, not 64 KiB windows
/// scattered through the whole binary (idle RSS; see README, Memory).
let serveOrder: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/malten/symbol-order.txt",
            "-Xlinker", "--no-warn-symbol-ordering",
        ],
        .when(platforms: [.linux], configuration: .release)
    )
]

let package = Package(
    name: "malten",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "malten", targets: ["malten"]),
        .executable(name: "malten-bench", targets: ["malten-bench"]),
        .library(name: "MaltenCore", targets: ["MaltenCore"]),
        .library(name: "MaltenHTTP", targets: ["MaltenHTTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // The store: sharded stream maps, rings, the timing wheel. Standard library and Dispatch only.
        .target(name: "MaltenCore"),
        // The web page at `/` (HTML, scripts, style, icon) and `/openapi.yaml`, from Resources/,
        // embedded in the binary.
        .target(
            name: "MaltenWeb",
            resources: ["index.html", "e2e.js", "app.js", "app.css", "icon.svg", "openapi.yaml"].map { .embedInCode("Resources/\($0)") }
        ),
        // The end-to-end format (sealed streams) on swift-crypto; the server never imports it.
        .target(name: "MaltenCrypto", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // The command-line client (`malten new`, `send`, `read`, `tail`): HTTP over NIO, sealed streams.
        .target(
            name: "MaltenClient",
            dependencies: [
                "MaltenCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Malten's JSON, written straight into ByteBuffers; shared by the frontends.
        .target(name: "MaltenJSON", dependencies: ["MaltenCore", .product(name: "NIOCore", package: "swift-nio")]),
        // The stdin/stdout frontend: JSON Lines over MaltenCore.
        .target(
            name: "MaltenStdio",
            dependencies: ["MaltenCore", "MaltenJSON", .product(name: "NIOCore", package: "swift-nio")]
        ),
        // The HTTP frontend: SwiftNIO channel handlers over MaltenCore.
        .target(
            name: "MaltenHTTP",
            dependencies: [
                "MaltenCore",
                "MaltenJSON",
                "MaltenWeb",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Many servers as one over NATS: each stream's owner orders it, every member keeps a replica.
        // The core never imports it; the frontends see one `StreamStore` either way.
        .target(
            name: "MaltenCluster",
            dependencies: ["MaltenCore", "CNATS", .product(name: "Logging", package: "swift-log")]
        ),
        // Debian's nats.c, the NATS project's own C client: its header at build time (libnats-dev),
        // its library opened only when a member joins a cluster (Sources/CNATS/nats_loader.c).
        .target(name: "CNATS"),
        // Debian's jemalloc (libjemalloc-dev), the server's allocator, and its statistics.
        .systemLibrary(name: "CJemalloc", pkgConfig: "jemalloc", providers: [.apt(["libjemalloc-dev"])]),
        .target(name: "CJemallocConfiguration", dependencies: ["CJemalloc"]),
        // prctl(2) and mlockall(2) for the executable: no core dumps, nothing readable by other users,
        // nothing swapped out.
        .target(name: "CProcessControl"),
        .target(name: "MaltenJemalloc", dependencies: ["CJemalloc", "CJemallocConfiguration"]),
        // The executable: argument parsing and start-up only.
        .executableTarget(
            name: "malten",
            dependencies: [
                "MaltenJemalloc",
                "MaltenCore",
                "MaltenHTTP",
                "MaltenStdio",
                "MaltenClient",
                "MaltenCluster",
                "CProcessControl",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["symbol-order.txt", "malten.service"],
            linkerSettings: leanLinking + serveOrder
        ),
        // The benchmark: scenarios and device profiles (MaltenBench), and its executable.
        .target(
            name: "MaltenBench",
            dependencies: [
                "MaltenCore", "MaltenHTTP", "MaltenStdio", "MaltenJemalloc", "MaltenTestSupport", "CEpoll",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Linux's epoll for the benchmark's fan-out client (Glibc does not export it).
        .target(name: "CEpoll"),
        .executableTarget(
            name: "malten-bench",
            dependencies: [
                "MaltenBench", "MaltenCore", "MaltenHTTP", "MaltenJemalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: leanLinking
        ),
        .testTarget(name: "MaltenBenchTests", dependencies: ["malten-bench"]),
        // The contract's behaviours, run through both frontends (HTTP and the `malten stdio` executable).
        .testTarget(
            name: "MaltenFrontendTests",
            dependencies: [
                "malten", "MaltenCore", "MaltenHTTP", "MaltenTestClients",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A clock that moves by hand, for the tests and the benchmark.
        .target(name: "MaltenTestSupport", dependencies: ["MaltenCore"]),
        // Event clients over real sockets (SSE and WebSocket), for the tests only.
        .target(
            name: "MaltenTestClients",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "MaltenClusterTests", dependencies: ["MaltenCluster", "MaltenCore"]),
        .testTarget(name: "MaltenCoreTests", dependencies: ["MaltenCore", "MaltenTestSupport"]),
        .testTarget(name: "MaltenJemallocTests", dependencies: ["MaltenJemalloc"]),
        .testTarget(name: "MaltenCryptoTests", dependencies: ["MaltenCrypto", "MaltenTestSupport"]),
        .testTarget(
            name: "MaltenHTTPTests",
            dependencies: [
                "MaltenCore",
                "MaltenCrypto",
                "MaltenHTTP",
                "MaltenJSON",
                "MaltenTestSupport",
                "MaltenTestClients",
                "MaltenWeb",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
