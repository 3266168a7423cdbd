import MaltenCore
import MaltenJSON

/// One `subscribe` of the stdio frontend: writes `{"sub":N,"event":{…}}` lines.
///
/// Events are queued on the output queue, behind the answer being written; the next request is read
/// only after they are out. So a reader of stdout that falls behind holds up stdin instead of letting
/// events pile up: no subscription can lag, and memory stays bounded by what one request causes.
final class StdioSubscriber: StreamSubscriber, EventCourier {
    let number: Int
    private let output: StdioOutput

    init(number: Int, output: StdioOutput) {
        self.number = number
        self.output = output
    }

    /// Its own courier: each subscription writes lines of its own, numbered.
    var courier: any EventCourier { self }

    func deliver(_ events: [StreamEvent], to subscribers: [any StreamSubscriber]) {
        let number = number
        for event in events {
            output.lineLater { $0.writeSubscriptionEvent(number) { $0.writeEvent(event) } }
        }
    }
}
