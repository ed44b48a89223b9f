import ArgumentParser
import FieldCrypto
import FieldLedger
import FieldWeb
import Foundation
import Hummingbird
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// `fieldlog ui`: the people's screens, served to this computer's browser only.
struct UICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui",
        abstract: "Open the screens (工作台, 诉求) in this computer's browser; served on 127.0.0.1 only.",
        discussion:
            "Asks the key passphrase once, then prints a one-time login link (and opens it unless --no-open). After 15 minutes without use the screens lock and ask the passphrase again. Stop with Ctrl-C."
    )
    @OptionGroup var global: GlobalOptions
    @Option(help: "The port on 127.0.0.1 (0: any free port).") var port = 8700
    @Flag(name: .customLong("no-open"), help: "Print the login link without opening a browser.") var noOpen = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw CLIError("--port must be between 0 and 65535, not \(port)") }
    }

    func run() async throws {
        let ledger = try global.ledger(write: true)
        let keyPath = global.keyPath
        var configuration = WebConfiguration(ledger: ledger) { passphrase in
            (try? KeyFile.read(from: keyPath, passphrase: passphrase)) != nil
        }
        configuration.port = port
        let (sessions, open) = (configuration.sessions, !noOpen)
        configuration.onListening = { port in
            let url = "http://127.0.0.1:\(port)/login?token=\(sessions.issueLoginToken())"
            // Written at once (not buffered): a script or a person waits for the link.
            FileHandle.standardOutput.write(
                Data("fieldlog 界面已启动。请在本机浏览器打开（链接只能用一次）：\n  \(url)\n按 Ctrl-C 停止。\n".utf8)
            )
            if open { openBrowser(url) }
        }
        do {
            try await buildWebApp(configuration).runService()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw CLIError(
                "port \(port) on 127.0.0.1 is in use (is fieldlog ui already running?); choose another --port"
            )
        }
    }

    /// Opens `url` in the desktop's browser, if this computer has one; the link is printed either way.
    func openBrowser(_ url: String) {
        let opener = ["/usr/bin/xdg-open", "/usr/bin/open"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let opener else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: opener)
        process.arguments = [url]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
    }
}
