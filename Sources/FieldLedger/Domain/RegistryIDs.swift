import FieldCrypto
import FieldStore
import Foundation

/// Row ids that are derived rather than random, so that any replica can look a registry row up
/// by what it is about, as of any registry state, without scanning.
public enum RegistryIDs {
    /// The devices row of a public key.
    public static func device(_ key: PublicKey) -> UUID { derived("device", key.bytes) }

    /// The linkages row of a cadre and an enterprise (reused when the same pair is linked again).
    public static func linkage(cadre: UUID, enterprise: UUID) -> UUID {
        derived("linkage", cadre.bytes16 + enterprise.bytes16)
    }

    /// The scope of an enterprise's visits and demands.
    public static func scope(of enterprise: UUID) -> String { "ent:" + enterprise.lowercased }

    /// The enterprise of a scope, if it is an enterprise scope.
    public static func enterprise(of scope: String) -> UUID? {
        guard scope.hasPrefix("ent:") else { return nil }
        return UUID(uuidString: String(scope.dropFirst(4)))
    }

    static func derived(_ label: String, _ bytes: [UInt8]) -> UUID {
        var hash = Array(BLAKE2b.hash256(Array("fieldlog \(label)".utf8) + bytes).prefix(16))
        // Mark as an RFC 9562 version 8 (custom) UUID so it is never mistaken for a v7.
        hash[6] = 0x80 | (hash[6] & 0x0F)
        hash[8] = 0x80 | (hash[8] & 0x3F)
        return UUID(bytes16: hash)
    }
}
