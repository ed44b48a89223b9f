/// The unified social credit code (统一社会信用代码) of GB 32100-2015.
public enum USCC {
    static let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
    static let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

    /// Normalises (spaces removed, upper case) and validates a code; returns the normalised code.
    ///
    /// Letters are never substituted (O is not turned into 0, nor I into 1): a code with a letter
    /// outside the alphabet is reported as such.
    /// - Throws: `LedgerError.invalidUSCC` with the reason.
    /// A code as it is stored: spaces removed, letters in upper case (nothing else changed).
    public static func normalize(_ raw: String) -> String { String(raw.filter { !$0.isWhitespace }).uppercased() }

    public static func validate(_ raw: String) throws(LedgerError) -> String {
        let code = normalize(raw)
        guard code.count == 18 else {
            throw LedgerError(.invalidUSCC, "统一社会信用代码 \(code) has \(code.count) characters, not 18")
        }
        var values: [Int] = []
        for (index, char) in code.enumerated() where index < 17 {
            guard let value = alphabet.firstIndex(of: char) else {
                throw LedgerError(
                    .invalidUSCC,
                    "统一社会信用代码 \(code): character \(index + 1) '\(char)' is not allowed (the letters I, O, S, V, Z never appear)"
                )
            }
            values.append(value)
        }
        guard "123456789ANY".contains(code.first!) else {
            throw LedgerError(.invalidUSCC, "统一社会信用代码 \(code) must start with 1-9, A, N or Y")
        }
        let expected = checkCharacter(values)
        // The check character is judged against the expected one, so a wrong last letter (even one
        // outside the alphabet, like Z) is reported as the failed check it is.
        guard code.last! == expected else {
            throw LedgerError(
                .invalidUSCC,
                "统一社会信用代码 \(code) fails its check: the last character should be \(expected); check the code on the business licence"
            )
        }
        return code
    }

    /// The check character for the first 17 values.
    static func checkCharacter(_ values: [Int]) -> Character {
        let sum = zip(values.prefix(17), weights).reduce(0) { $0 + $1.0 * $1.1 }
        let check = (31 - sum % 31) % 31
        return alphabet[check]
    }

    /// Whether a code is valid.
    public static func isValid(_ raw: String) -> Bool { (try? validate(raw)) != nil }
}
