import Dispatch
import MaltenJSON
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Standard output as JSON Lines: answers and events, written in order from one serial queue and
/// flushed in batches. A closed pipe (EPIPE) ends the process cleanly.
final class StdioOutput: @unchecked Sendable {
    /// Everything that writes, and all state of the stdio frontend, runs on this queue.
    let queue = DispatchQueue(label: "malten.stdio.output")
    private let descriptor: Int32
    private var buffer = ByteBuffer()
    private var flushScheduled = false

    init(descriptor: Int32) {
        self.descriptor = descriptor
        buffer.reserveCapacity(64 << 10)
    }

    /// Appends one line (on the queue); writes once 64 KiB have gathered.
    func line(_ write: (inout ByteBuffer) -> Void) {
        dispatchPrecondition(condition: .onQueue(queue))
        write(&buffer)
        buffer.writeInteger(UInt8(ascii: "\n"))
        if buffer.readableBytes >= 64 << 10 { flush() }
    }

    /// Appends a line from elsewhere (a subscription): queued behind whatever is being answered,
    /// and flushed together with the lines queued beside it.
    func lineLater(_ write: @escaping @Sendable (inout ByteBuffer) -> Void) {
        queue.async {
            self.line(write)
            if !self.flushScheduled {
                self.flushScheduled = true
                self.queue.async {
                    self.flushScheduled = false
                    self.flush()
                }
            }
        }
    }

    /// Writes what has gathered (on the queue).
    func flush() {
        dispatchPrecondition(condition: .onQueue(queue))
        while buffer.readableBytes > 0 {
            let written = buffer.withUnsafeReadableBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written > 0 {
                buffer.moveReaderIndex(forwardBy: written)
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                exit(0)  // the reader went away (EPIPE): nothing more can be said
            }
        }
        // The buffer lives as long as the session: what it held is overwritten, not only forgotten.
        buffer.moveReaderIndex(to: 0)
        buffer.withUnsafeMutableReadableBytes { $0.wipe() }
        buffer.clear()
    }
}
