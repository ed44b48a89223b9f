import Foundation

/// Runs the built `fieldlog` binary, as a user would.
struct CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String

        var json: Any? { try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
    }

    let home: String
    var environment: [String: String] = [:]

    /// The fieldlog binary beside the test bundle (same build folder).
    static var binary: String {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = testBinary.deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("fieldlog").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return "fieldlog-binary-not-built"
    }

    static func temporaryFolder(_ name: String) -> String {
        let path = NSTemporaryDirectory() + "fieldlog-cli-\(name)-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs `body` on a thread of its own and waits for it without holding a thread of the
    /// cooperative pool. That pool has as many threads as cores (two here); a test blocked in a
    /// child process on it starves the in-process hubs other suites are testing meanwhile (CI once
    /// failed that way: a raw /healthz check got no answer within 20 s).
    static func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Swift.Result { try body() }) }.start()
        }
    }

    @discardableResult
    func run(_ arguments: [String], passphrase: String? = "correct horse 正确") async throws -> Result {
        try await Self.offThePool { try self.blockingRun(arguments, passphrase: passphrase) }
    }

    func blockingRun(_ arguments: [String], passphrase: String?) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["FIELDLOG_HOME"] = home
        env["FIELDLOG_KDF"] = "minimum"
        env.removeValue(forKey: "FIELDLOG_PASSPHRASE")
        if let passphrase { env["FIELDLOG_PASSPHRASE"] = passphrase }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self)
        )
    }

    /// Runs and requires success.
    @discardableResult
    func ok(_ arguments: [String]) async throws -> Result {
        let result = try await run(arguments)
        if result.status != 0 {
            throw Failure(
                message: "fieldlog \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)"
            )
        }
        return result
    }

    struct Failure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Starts the binary as a server (`hub serve`, `ui`) with this home and the test passphrase,
    /// and reads what it prints until `done` says enough; returns the process, still running.
    static func start(
        _ arguments: [String],
        home: String,
        until done: (String) -> Bool
    ) throws -> (Process, String) {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: CLI.binary)
        server.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["FIELDLOG_HOME"] = home
        env["FIELDLOG_PASSPHRASE"] = "correct horse 正确"
        env["FIELDLOG_LOG_LEVEL"] = "warning"
        server.environment = env
        let output = Pipe()
        server.standardOutput = output
        server.standardError = FileHandle.nullDevice
        try server.run()
        var text = ""
        while !done(text) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        return (server, text)
    }
}
