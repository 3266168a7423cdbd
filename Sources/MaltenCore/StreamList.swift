/// A shard's streams in least-recently-updated order, linked through the streams themselves:
/// O(1) to append, to move a stream to the newest end, to unlink, and to find the oldest.
struct StreamList {
    private(set) var oldest: StreamState?
    private(set) var newest: StreamState?

    /// Puts `stream` at the newest end (unlinking it first if it is linked).
    mutating func touch(_ stream: StreamState) {
        if newest === stream { return }
        unlink(stream)
        stream.older = newest
        newest?.newer = stream
        newest = stream
        if oldest == nil { oldest = stream }
    }

    mutating func unlink(_ stream: StreamState) {
        if let older = stream.older { older.newer = stream.newer } else if oldest === stream { oldest = stream.newer }
        if let newer = stream.newer { newer.older = stream.older } else if newest === stream { newest = stream.older }
        stream.older = nil
        stream.newer = nil
    }
}
