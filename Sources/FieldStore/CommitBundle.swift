import FieldCrypto
import Foundation

/// A bundle: a file of commits, for carrying them between replicas on a USB stick.
///
/// Layout (see `docs/commit-format.md`): the 8-byte magic `FLBUNDL1`; records, each a 4-byte
/// big-endian length and a commit in wire form; an end marker of 4 zero bytes; the 8-byte record
/// count; and BLAKE2b-256 of every byte before it. A bundle whose tail does not check is refused
/// whole, so a truncated copy never half-applies.
public enum CommitBundle {
    static let magic = Array("FLBUNDL1".utf8)

    /// Writes every commit of `replica` to `path` (atomically: a temporary file, then a rename).
    /// - Returns: the number of commits written.
    @discardableResult
    public static func write(from replica: Replica, scopes: Set<String>? = nil, to path: String) throws -> Int {
        let writer = try Writer(path: path)
        try replica.exportRecords(scopes: scopes) { try writer.append($0) }
        return try writer.finish()
    }

    /// Writes a bundle record by record, streaming: the magic, each record with its length, the
    /// end marker and count, then the BLAKE2b-256 of all that. The file appears at `path` only when
    /// `finish()` succeeds (it is written to `path.partial` until then).
    public final class Writer {
        let path: String
        let temporary: String
        let handle: FileHandle
        let hasher = BLAKE2b.Hasher()
        var buffer: [UInt8] = magic
        var count: UInt64 = 0

        public init(path: String) throws {
            self.path = path
            temporary = path + ".partial"
            _ = FileManager.default.createFile(atPath: temporary, contents: nil)
            guard let handle = FileHandle(forWritingAtPath: temporary) else {
                throw StoreError(.database, "cannot write \(path); check that the folder exists and is writable")
            }
            self.handle = handle
        }

        /// Adds one wire record.
        public func append(_ record: [UInt8]) throws {
            Framing.append(record, to: &buffer)
            count += 1
            try flush(force: false)
        }

        private func flush(force: Bool) throws {
            guard force || buffer.count > 1 << 20 else { return }
            hasher.update(buffer)
            try handle.write(contentsOf: buffer)
            buffer.removeAll(keepingCapacity: true)
        }

        /// Writes the trailer, syncs and renames the file into place; returns the record count.
        @discardableResult
        public func finish() throws -> Int {
            buffer += [0, 0, 0, 0]
            buffer += BigEndian.bytes(count)
            try flush(force: true)
            try handle.write(contentsOf: hasher.finalize())
            try handle.synchronize()
            try handle.close()
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
            return Int(count)
        }
    }

    /// Opens a bundle and checks its end marker, count and hash before anything is read from it.
    /// - Throws: `.notABundle` or `.truncatedBundle`.
    public static func open(_ path: String) throws -> Records {
        guard let mapping = FileMapping(path: path) else {
            throw StoreError(.notABundle, "cannot read \(path): no such file, or not readable")
        }
        var records = try Records(data: mapping.data, path: path)
        records.mapping = mapping
        // The hash check read every page; the file stays on disk, so they need not stay in memory.
        mapping.release(upTo: mapping.data.count)
        return records
    }

    /// The records of a checked bundle, read one by one.
    public struct Records: Sequence {
        let data: Data
        /// The file's mapping, when the bundle was opened from a file: pages already read are
        /// given back as the records are read, so a county-sized bundle does not stay resident.
        fileprivate var mapping: FileMapping?
        /// The number of commits the bundle holds.
        public let count: Int

        /// Checks a bundle already in memory (`name` is what errors call it).
        public init(data: Data, name: String = "the bundle") throws {
            try self.init(data: data, path: name)
        }

        init(data: Data, path: String) throws {
            guard data.count >= magic.count, Array(data.prefix(magic.count)) == magic else {
                throw StoreError(.notABundle, "\(path) is not a fieldlog bundle (it does not start with FLBUNDL1)")
            }
            let trailer = 4 + 8 + 32
            let truncated = StoreError(
                .truncatedBundle,
                "\(path) is truncated or damaged (its end does not check); copy it again from the replica that wrote it"
            )
            guard data.count >= magic.count + trailer else { throw truncated }
            let hashStart = data.count - 32
            let expected = [UInt8](data[(data.startIndex + hashStart)...])
            let hasher = BLAKE2b.Hasher()
            var offset = 0
            while offset < hashStart {
                let end = Swift.min(hashStart, offset + (1 << 22))
                hasher.update([UInt8](data[(data.startIndex + offset)..<(data.startIndex + end)]))
                offset = end
            }
            guard hasher.finalize() == expected else { throw truncated }
            let countBytes = [UInt8](data[(data.startIndex + hashStart - 8)..<(data.startIndex + hashStart)])
            let marker = [UInt8](data[(data.startIndex + hashStart - 12)..<(data.startIndex + hashStart - 8)])
            guard marker == [0, 0, 0, 0] else { throw truncated }
            // A count no file of this size could hold is damage (fuzzing found the trap of a
            // count past Int.max): every record takes at least 4 bytes of length and 1 of body.
            guard let count = Int(exactly: countBytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }),
                count <= data.count / 5
            else {
                throw truncated
            }
            self.count = count
            self.data = data.prefix(hashStart - 12)
        }

        public func makeIterator() -> Iterator {
            Iterator(data: data, offset: CommitBundle.magic.count, mapping: mapping)
        }

        /// Yields each record's bytes; a record whose length runs past the end ends the sequence
        /// (the hash has already been checked, so that only happens to a bundle written wrongly).
        public struct Iterator: IteratorProtocol {
            let data: Data
            var offset: Int
            fileprivate var mapping: FileMapping?
            private var released = 0

            fileprivate init(data: Data, offset: Int, mapping: FileMapping?) {
                self.data = data
                self.offset = offset
                self.mapping = mapping
            }

            public mutating func next() -> [UInt8]? {
                guard case .success(let framed) = Framing.next(in: data, at: offset) else { return nil }
                offset = framed.next
                if let mapping, offset - released >= 8 << 20 {
                    mapping.release(upTo: offset)
                    released = offset
                }
                return framed.record
            }
        }
    }
}

/// A bundle file mapped read-only and shared (`mmap`), seen as `Data` without a copy. Pages read
/// can be given back (`release`): they are the file's, so the kernel reads them again if needed.
private final class FileMapping: @unchecked Sendable {
    let data: Data
    private let base: UnsafeMutableRawPointer?
    private let length: Int

    init?(path: String) {
        let fd = Foundation.open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        length = Int(info.st_size)
        guard length > 0 else {
            base = nil
            data = Data()
            return
        }
        guard let pointer = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), pointer != MAP_FAILED else {
            return nil
        }
        base = pointer
        data = Data(bytesNoCopy: pointer, count: length, deallocator: .none)
    }

    /// Gives back the whole pages before `offset` (an offset in `data`).
    func release(upTo offset: Int) {
        guard let base else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let end = min(offset, length) / page * page
        if end > 0 { _ = madvise(base, end, Int32(MADV_DONTNEED)) }
    }

    deinit {
        if let base { munmap(base, length) }
    }
}
