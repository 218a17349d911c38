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
            ]
        ),
        .testTarget(
            name: "StackCommandsTests",
            dependencies: ["StackCommands"],
            exclude: ["FakeDocker"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
