// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "fieldlog",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fieldlog", targets: ["fieldlog"]),
        .library(name: "FieldLedger", targets: ["FieldLedger"]),
        // The decoders' checks, for the libFuzzer targets in fuzz/ (a package of their own).
        .library(name: "FieldFuzzing", targets: ["FieldFuzzing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            path: "Sources/CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // The one error protocol every layer's errors conform to.
        .target(name: "FieldCore", swiftSettings: swiftSettings),
        .target(
            name: "FieldCrypto",
            dependencies: ["FieldCore", "CSodium"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FieldStore",
            dependencies: [
                "FieldCore", "FieldCrypto",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FieldLedger",
            dependencies: [
                "FieldCore", "FieldStore",
                "FieldCrypto",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FieldExport",
            dependencies: [
                "FieldCore", "FieldCrypto", "FieldLedger", "FieldStore",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FieldSync",
            dependencies: [
                "FieldCore", "FieldStore", "FieldCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FieldHub",
            dependencies: [
                "FieldCore", "FieldSync", "FieldLedger", "FieldStore", "FieldCrypto",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // The hub's shared state on PostgreSQL (`fieldlog hub serve --store postgresql://…`): the commit
        // log several hub processes follow, nonces, enrollment codes and the console's state
        // (docs/scale-out.md).
        .target(
            name: "FieldPostgres",
            dependencies: [
                "FieldCore", "FieldCrypto", "FieldStore", "FieldHub", "FieldDashboard", "FieldExport", "FieldLedger",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // A city or province hub over county hubs (`fieldlog hub serve --federate`): one replica per
        // county, pulled with the devices' signed protocol (docs/scale-out.md).
        .target(
            name: "FieldFederation",
            dependencies: [
                "FieldCore", "FieldCrypto", "FieldStore", "FieldLedger", "FieldSync",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The people's screens (`fieldlog ui`): pages over the ledger, templates compiled in.
        .target(
            name: "FieldWeb",
            dependencies: [
                "FieldCore", "FieldCrypto", "FieldLedger", "FieldStore", "FieldSync", "FieldExport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The hub's console (`fieldlog hub serve --dashboard`): accounts, sessions and the county's pages.
        .target(
            name: "FieldDashboard",
            dependencies: [
                "FieldCore", "FieldCrypto", "FieldLedger", "FieldStore", "FieldHub", "FieldExport", "FieldWeb",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fieldlog",
            dependencies: [
                "FieldDashboard",
                "FieldFederation",
                "FieldPostgres",
                "FieldWeb",
                "FieldCore",
                "FieldHub",
                "FieldExport",
                "FieldSync",
                "FieldLedger",
                "FieldStore",
                "FieldCrypto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FieldFuzzing",
            dependencies: [
                "FieldStore", "FieldCrypto", "FieldSync", "FieldLedger", "FieldHub",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fieldlog-bench",
            dependencies: [
                "FieldCore", "FieldHub", "FieldSync", "FieldLedger", "FieldStore", "FieldCrypto", "FieldWeb",
                "FieldDashboard",
                "FieldExport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "tools/bench",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "FieldCryptoTests", dependencies: ["FieldCrypto"], swiftSettings: swiftSettings),
        .testTarget(
            name: "FieldFuzzingTests",
            dependencies: ["FieldFuzzing", "FieldHub", "FieldLedger", "FieldStore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FieldStoreTests",
            dependencies: ["FieldStore", "FieldCrypto", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FieldLedgerTests",
            dependencies: [
                "FieldLedger", "FieldExport", "FieldStore", "FieldCrypto",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FieldSyncTests",
            dependencies: [
                "FieldSync", "FieldHub", "FieldStore", "FieldLedger", "FieldCrypto",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FieldWebTests",
            dependencies: [
                "FieldWeb", "FieldLedger", "FieldStore", "FieldCrypto", "FieldHub",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FieldDashboardTests",
            dependencies: [
                "FieldDashboard", "FieldWeb", "FieldLedger", "FieldStore", "FieldCrypto", "FieldHub", "FieldExport",
                "FieldSync", "FieldPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FieldFederationTests",
            dependencies: [
                "FieldFederation", "FieldHub", "FieldSync", "FieldLedger", "FieldStore", "FieldCrypto", "FieldExport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FieldPostgresTests",
            dependencies: [
                "FieldPostgres", "FieldHub", "FieldSync", "FieldLedger", "FieldStore", "FieldCrypto", "FieldDashboard",
                "FieldExport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FieldlogCLITests",
            dependencies: [
                "fieldlog", "FieldCrypto", "FieldStore", "FieldLedger", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
