import NIOCore

/// The request-body bytes one event loop holds at once, across all its connections, and their bound.
///
/// Each body is bounded on its own (`maxBodyBytes`); this bounds their sum, so a crowd of clients
/// that all send slowly cannot make the server hold more than the allowance. Owned by one event
/// loop and touched only on it: no locks, no atomics.
final class BodyAllowance: @unchecked Sendable {
    private let eventLoop: any EventLoop
    private let limit: Int
    private(set) var inFlight = 0

    init(eventLoop: any EventLoop, limit: Int) {
        self.eventLoop = eventLoop
        self.limit = limit
    }

    /// Takes `bytes` from the allowance; false (and nothing taken) when that would pass the bound.
    func take(_ bytes: Int) -> Bool {
        eventLoop.assertInEventLoop()
        guard inFlight + bytes <= limit else { return false }
        inFlight += bytes
        return true
    }

    /// Gives back what a request had taken.
    func give(_ bytes: Int) {
        eventLoop.assertInEventLoop()
        inFlight -= bytes
    }
}
