// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// One service = a library with its logic and a tiny executable.
func service(_ name: String, module: String, deps: [Target.Dependency] = []) -> [Target] {
    // deps: what only this service needs.
    [
        .target(
            name: module,
            dependencies: ["EGovAPI", "EGovKit", "EGovStore"] + deps,
            path: "services/\(name)/Service",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "egov-\(name)",
            dependencies: [.target(name: module), "EGovKit"],
            path: "services/\(name)/Main",
            swiftSettings: strict
        ),
    ]
}

let grpcCore: Target.Dependency = .product(name: "GRPCCore", package: "grpc-swift-2")
let grpcHTTP2: Target.Dependency = .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport")
let grpcProtobuf: Target.Dependency = .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf")

let package = Package(
    name: "egov",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "egov-identity", targets: ["egov-identity"]),
        .executable(name: "egov-documents", targets: ["egov-documents"]),
        .executable(name: "egov-procedures", targets: ["egov-procedures"]),
        .executable(name: "egov-conferences", targets: ["egov-conferences"]),
        .executable(name: "egov-gateway", targets: ["egov-gateway"]),
        .executable(name: "egov-bench", targets: ["egov-bench"]),
        .executable(name: "egov-fuzz", targets: ["egov-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/sql-kit", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit", from: "2.17.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        .target(
            name: "EGovAPI",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                grpcCore, grpcProtobuf,
            ]
        ),
        .target(
            name: "EGovKit",
            dependencies: [
                "EGovAPI", grpcCore, grpcHTTP2, grpcProtobuf,
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "EGovStore",
            dependencies: [
                "EGovKit", grpcCore, grpcProtobuf,
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "egov-bench",
            dependencies: [
                "EGovAPI", "EGovKit", "EGovStore", "IdentityService", "GatewayService", "ProceduresService",
                "DocumentsService", "ConferencesService", "EGovTestSupport", grpcCore, grpcHTTP2,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "scripts/benchmarks/egov-bench",
            swiftSettings: strict
        ),
        .target(
            name: "EGovFuzzTargets",
            dependencies: [
                "EGovAPI", "EGovKit", "GatewayService", "ProceduresService", "DocumentsService", "ConferencesService",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            path: "scripts/fuzz/Targets",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "egov-fuzz",
            dependencies: [
                "EGovFuzzTargets", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "scripts/fuzz/Main",
            swiftSettings: strict
        ),
        .target(
            name: "EGovTestSupport",
            dependencies: [
                "EGovAPI", "EGovKit", "EGovStore", grpcCore, grpcHTTP2,
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/EGovTestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "EGovKitTests",
            dependencies: [
                "EGovAPI", "EGovKit", "EGovTestSupport", grpcCore, grpcHTTP2, grpcProtobuf,
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EGovStoreTests",
            dependencies: [
                "EGovStore", "EGovKit", "EGovTestSupport", grpcProtobuf, grpcCore,
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ServiceTests",
            dependencies: [
                "EGovAPI", "EGovKit", "EGovStore", "EGovTestSupport", grpcCore, grpcHTTP2, grpcProtobuf,
                "IdentityService", "DocumentsService", "ProceduresService", "ConferencesService", "GatewayService",
                "EGovFuzzTargets", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "EGovAPI", "EGovKit", "EGovStore", "EGovTestSupport", grpcCore, grpcHTTP2, grpcProtobuf,
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ]
        + service(
            "identity", module: "IdentityService",
            deps: [
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ])
        + service(
            "documents", module: "DocumentsService",
            deps: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ])
        + service("procedures", module: "ProceduresService", deps: [.product(name: "Crypto", package: "swift-crypto")])
        + service(
            "conferences", module: "ConferencesService",
            deps: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ])
        + service(
            "gateway", module: "GatewayService",
            deps: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ])
)
