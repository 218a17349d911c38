// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "stack",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "stack", targets: ["Stack"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .executableTarget(
            name: "Stack",
            dependencies: ["StackCommands"]
        ),
        .target(
            name: "StackCommands",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "StackCommandsTests",
            dependencies: [
                "StackCommands",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["FakeDocker"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
