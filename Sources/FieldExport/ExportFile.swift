import FieldCrypto
import FieldLedger
import FieldStore
import Foundation

/// An export as the CLI and the screens make it: the tables written in a format, signed with the
/// device's key on request, and checked against the county's registry.
public enum ExportFile {
    /// The tables as the bytes of a file in `format`.
    public static func bytes(_ tables: [ReportTable], format: ExportFormat, title: String) throws -> [UInt8] {
        switch format {
        case .csv: CSVWriter.write(tables)
        case .xlsx: try XLSXWriter.write(tables, title: title)
        case .json:
            try JSONWriter.write(
                tables,
                title: title,
                generatedAt: ISOTime.format(Int64(Date().timeIntervalSince1970 * 1000))
            )
        }
    }

    /// A detached signature of `bytes`, named `name`, by this device, over the feed heads its
    /// replica holds now.
    public static func sign(_ bytes: [UInt8], name: String, ledger: Ledger, key: SigningKey) throws -> ExportSignature {
        ExportSignature.sign(
            file: bytes,
            name: name,
            key: key,
            signerName: try ledger.authorName(key.publicKey),
            heads: try ledger.feedHeads(),
            signedAt: ISOTime.format(Int64(Date().timeIntervalSince1970 * 1000))
        )
    }

    /// Who signed `file` with `signature`, as this county's registry knows the key; throws an
    /// `ExportError` naming what is wrong otherwise.
    public static func verify(
        _ file: [UInt8],
        signature: [UInt8],
        ledger: Ledger
    ) throws -> (
        signer: String, parsed: ExportSignature
    ) {
        let parsed = try ExportSignature.decode(signature)
        let who = try parsed.verify(file: file) { key in
            switch try ledger.standing(of: key) {
            case .unknown: return nil
            case .revoked: return try ledger.authorName(key) + ", a device revoked since"
            case .enrolled(let role): return try ledger.authorName(key) + ", " + role.displayName
            }
        }
        return (who, parsed)
    }
}
