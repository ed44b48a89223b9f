import FieldFuzzing
import Foundation

/// Which decoder this run fuzzes: `FIELDLOG_FUZZ_TARGET` (commit, bundle, signature or
/// sync-request; tools/fuzz.sh sets it).
let target: String = {
    let name = ProcessInfo.processInfo.environment["FIELDLOG_FUZZ_TARGET"] ?? ""
    guard FuzzChecks.targets.contains(name) else {
        fatalError("set FIELDLOG_FUZZ_TARGET to one of \(FuzzChecks.targets.joined(separator: ", "))")
    }
    return name
}()

/// libFuzzer's entry point: every input goes through the target's check.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzChecks.run(target, data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// A debug build of an executable target names its entry point `fuzz_decoders_main` (SwiftPM links
/// main to it), which would hide libFuzzer's own main: hand over to libFuzzer's driver from here.
@_cdecl("fuzz_decoders_main")
public func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { data, size in fuzzTestOneInput(data, size) }
}
