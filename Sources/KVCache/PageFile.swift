#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file of page records read and written at explicit offsets (`pread`/`pwrite`): a cache's
/// spill file (appended to, deleted with the cache) or a snapshot (read-only). The descriptor stays
/// open while the file is in use, so a snapshot removed by the cleanup policy meanwhile stays
/// readable until the cache lets go of it.
final class PageFile {
    let path: String
    private let fd: Int32
    private var removeOnClose: Bool
    /// End of the written data (appends go here).
    private(set) var byteCount: Int

    private init(path: String, fd: Int32, byteCount: Int, removeOnClose: Bool) {
        self.path = path
        self.fd = fd
        self.byteCount = byteCount
        self.removeOnClose = removeOnClose
    }

    /// Creates (or empties) a file for writing, removed when this object goes away unless
    /// `keepOnClose()` is called (spill files and snapshots being written).
    static func createRemovable(path: String) throws(KVCacheError) -> PageFile {
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io(path: path, operation: "create", code: errno) }
        return PageFile(path: path, fd: fd, byteCount: 0, removeOnClose: true)
    }

    /// Opens an existing file for reading.
    static func openForReading(path: String) throws(KVCacheError) -> PageFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, operation: "open", code: errno) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            throw .io(path: path, operation: "stat", code: code)
        }
        return PageFile(path: path, fd: fd, byteCount: Int(st.st_size), removeOnClose: false)
    }

    /// Keeps the file when this object goes away (a snapshot renamed into place).
    func keepOnClose() { removeOnClose = false }

    deinit {
        close(fd)
        if removeOnClose { unlink(path) }
    }

    /// Appends `bytes`; returns their offset.
    func append(_ bytes: UnsafeRawBufferPointer) throws(KVCacheError) -> Int {
        let offset = byteCount
        try write(bytes, at: offset)
        byteCount = offset + bytes.count
        return offset
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(KVCacheError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io(path: path, operation: "write", code: n < 0 ? errno : ENOSPC) }
            done += n
        }
    }

    /// Reads exactly `count` bytes at `offset` into `buffer`; a short file is an error (`EIO`).
    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) throws(KVCacheError) {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io(path: path, operation: "read", code: n < 0 ? errno : EIO) }
            done += n
        }
    }

    /// `count` bytes at `offset` as an array.
    func readBytes(count: Int, at offset: Int) throws(KVCacheError) -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        defer { buffer.deallocate() }
        try read(into: buffer.baseAddress!, count: count, at: offset)
        return Array(buffer.prefix(count))
    }

    func write(_ bytes: [UInt8], at offset: Int) throws(KVCacheError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        defer { buffer.deallocate() }
        buffer.copyBytes(from: bytes)
        try write(UnsafeRawBufferPointer(rebasing: buffer[0..<bytes.count]), at: offset)
    }
}
