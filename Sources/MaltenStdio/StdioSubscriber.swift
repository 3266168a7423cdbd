import MaltenCore
import MaltenJSON
import Synchronization

/// One `subscribe` of the stdio frontend: writes `{"sub":N,"event":{…}}` lines. It may fall at most
/// `queueLimit` events behind what stdout has taken; past that it says `lagged` and ends.
final class StdioSubscriber: StreamSubscriber {
    let number: Int
    private let stream: String
    private let output: StdioOutput
    private let queueLimit: Int
    private let pending = Atomic<Int>(0)
    private let lagged = Atomic<Bool>(false)
    /// Called once, on the output queue, when the subscriber has lagged.
    private let onLagged: @Sendable (StdioSubscriber) -> Void

    init(number: Int, stream: String, output: StdioOutput, queueLimit: Int, onLagged: @escaping @Sendable (StdioSubscriber) -> Void) {
        self.number = number
        self.stream = stream
        self.output = output
        self.queueLimit = queueLimit
        self.onLagged = onLagged
    }

    func receive(_ event: StreamEvent) {
        if lagged.load(ordering: .relaxed) { return }
        if pending.add(1, ordering: .relaxed).newValue > queueLimit {
            lagged.store(true, ordering: .relaxed)
            let number = number
            let stream = stream
            output.lineLater { $0.writeSubscriptionEvent(number) { $0.writeLagged(stream: stream) } }
            output.queue.async { self.onLagged(self) }
            return
        }
        let number = number
        output.lineLater { buffer in
            buffer.writeSubscriptionEvent(number) { $0.writeEvent(event) }
            self.pending.subtract(1, ordering: .relaxed)
        }
    }
}
