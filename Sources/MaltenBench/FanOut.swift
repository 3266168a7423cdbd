import CEpoll
import Glibc

/// The fan-out load: `subscribers` Server-Sent Events connections on one stream and a publisher
/// posting `posts` messages one after another, each `~seq~sent-nanoseconds~` padded to
/// `textLength` characters. Everything runs in one thread over raw sockets and epoll, so the
/// client costs far less per delivery than any server it measures: Malten (`GET /events`,
/// `POST /messages`) or nchan (`/sub/S`, `/pub/S`), for comparisons in the same run.
public struct FanOut {
    /// Which server's URLs to use.
    public enum Server: String, Sendable {
        case malten
        case nchan
    }

    public var server: Server
    public var port: Int
    public var stream = "fanout"
    public var subscribers: Int
    public var posts: Int
    public var textLength = 100
    /// Posts sent before their answers come back (pipelined on one connection): 1 posts one
    /// after another, more stands for several publishers at once.
    public var inFlight = 1
    /// Where the subscribers connect, round-robin (members of one cluster, say); `port` when empty.
    public var subscriberPorts: [Int] = []

    public init(server: Server, port: Int, subscribers: Int, posts: Int) {
        self.server = server
        self.port = port
        self.subscribers = subscribers
        self.posts = posts
    }

    /// What the subscribers saw.
    public struct Result: Sendable {
        public var deliveries: Int
        public var expected: Int
        /// From the first post sent to the last delivery read.
        public var seconds: Double
        /// Post-to-receive latency, microseconds.
        public var p50: Double
        public var p99: Double
        /// Every subscriber saw every message, in order, none twice.
        public var complete: Bool
        public var perSecond: Double { Double(deliveries) / seconds }
    }

    /// Subscribes everyone, posts, and reads until every subscriber has every message (or five
    /// seconds pass without progress).
    public func run() throws -> Result {
        var client = try Client(fanOut: self)
        defer { client.closeAll() }
        try client.subscribe(count: subscribers, streams: 1)
        client.drain(for: 0.5)
        return try client.publishAndCollect()
    }

    /// Opens `subscribers` connections spread over `streams` streams, lets them settle, and
    /// returns the server's resident memory per connection (from `/proc/pid/status`).
    public func idleBytesPerSubscriber(serverPID: Int32, streams: Int) throws -> (before: Int, after: Int, perSubscriber: Double) {
        let before = try Self.residentBytes(of: serverPID)
        var client = try Client(fanOut: self)
        defer { client.closeAll() }
        try client.subscribe(count: subscribers, streams: streams)
        client.drain(for: 3)
        let after = try Self.residentBytes(of: serverPID)
        return (before, after, Double(after - before) / Double(subscribers))
    }

    static func residentBytes(of pid: Int32) throws -> Int {
        let bytes = ProcessMemory.resident(of: pid)
        guard bytes >= 0 else { throw BenchError("no resident size for process \(pid)") }
        return bytes
    }
}

/// The epoll client behind `FanOut`. Subscriber state is kept in arrays indexed by descriptor.
private struct Client {
    let fanOut: FanOut
    let epoll: Int32
    var subscriberFDs: [Int32] = []
    /// By descriptor: 0 not a subscriber, 1 waiting for the response head, 2 streaming.
    var phase: [UInt8] = []
    var nextSequence: [Int32] = []
    var received: [Int32] = []
    var leftover: [Int32: [UInt8]] = [:]
    var disordered = 0
    var badStatus = 0
    var streaming = 0
    var latencies: [UInt32] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 18)

    init(fanOut: FanOut) throws {
        self.fanOut = fanOut
        epoll = epoll_create1(0)
        guard epoll >= 0 else { throw BenchError("epoll_create1 failed") }
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    mutating func closeAll() {
        for fd in subscriberFDs { close(fd) }
        subscriberFDs = []
        close(epoll)
    }

    /// Connects `count` subscribers in batches of 256 (each batch streaming before the next, so
    /// no listen backlog overflows), round-robin over `streams` streams.
    mutating func subscribe(count: Int, streams: Int) throws {
        var opened = 0
        while opened < count {
            let batch = min(256, count - opened)
            for index in opened..<(opened + batch) {
                let stream = streams == 1 ? fanOut.stream : "\(fanOut.stream)\(index % streams)"
                let fd = try connectSocket(port: fanOut.subscriberPorts.isEmpty ? fanOut.port : fanOut.subscriberPorts[index % fanOut.subscriberPorts.count])
                let path = fanOut.server == .malten ? "/events?stream=\(stream)" : "/sub/\(stream)"
                try send(fd, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
                track(fd)
                subscriberFDs.append(fd)
            }
            opened += batch
            let deadline = now() + 10_000_000_000
            while streaming + badStatus < opened {
                guard now() < deadline else { throw BenchError("only \(streaming) of \(opened) subscribers streaming after 10 s") }
                poll(timeoutMilliseconds: 100)
            }
        }
        if badStatus > 0 { throw BenchError("\(badStatus) subscriptions refused") }
    }

    /// Reads whatever comes for `seconds` (presence events, say).
    mutating func drain(for seconds: Double) {
        let end = now() + Int64(seconds * 1e9)
        while now() < end { poll(timeoutMilliseconds: 50) }
    }

    mutating func publishAndCollect() throws -> FanOut.Result {
        for fd in subscriberFDs {
            received[Int(fd)] = 0
            nextSequence[Int(fd)] = 0
        }
        latencies.reserveCapacity(fanOut.subscribers * fanOut.posts)
        let publisher = try connectSocket(blocking: true)
        defer { close(publisher) }
        let expected = fanOut.subscribers * fanOut.posts
        let start = now()
        var lastProgress = start
        var lastDelivery = start
        var sent = 0
        var answered = 0
        var response: [UInt8] = []
        while latencies.count < expected {
            while sent - answered < fanOut.inFlight && sent < fanOut.posts {
                try send(publisher, postRequest(sequence: sent))
                sent += 1
            }
            let before = latencies.count
            poll(timeoutMilliseconds: 0)
            if sent > answered { answered += try readAnswers(publisher, &response) }
            let t = now()
            if latencies.count > before {
                lastProgress = t
                lastDelivery = t
            } else if t - lastProgress > 5_000_000_000 && answered == fanOut.posts {
                break
            }
        }
        let seconds = Double(lastDelivery - start) / 1e9
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? .nan : Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))])
        }
        let everyone = subscriberFDs.allSatisfy { received[Int($0)] == fanOut.posts }
        return FanOut.Result(
            deliveries: latencies.count, expected: expected, seconds: seconds, p50: percentile(0.5), p99: percentile(0.99),
            complete: everyone && disordered == 0 && latencies.count == expected)
    }

    // MARK: Sockets

    func connectSocket(port: Int? = nil, blocking: Bool = false) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | (blocking ? 0 : Int32(SOCK_NONBLOCK.rawValue)), 0)
        guard fd >= 0 else { throw BenchError("socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port ?? fanOut.port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 || errno == EINPROGRESS else { throw BenchError("connect: errno \(errno)") }
        return fd
    }

    /// Writes all of `text`, waiting for a connecting socket to become writable.
    func send(_ fd: Int32, _ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 {
                offset += n
            } else if errno == EAGAIN || errno == EINPROGRESS || errno == ENOTCONN {
                var wait = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = Glibc.poll(&wait, 1, 100)
            } else {
                throw BenchError("write: errno \(errno)")
            }
        }
    }

    mutating func track(_ fd: Int32) {
        let index = Int(fd)
        if index >= phase.count {
            let grown = max(index + 1, phase.count * 2)
            phase += [UInt8](repeating: 0, count: grown - phase.count)
            nextSequence += [Int32](repeating: 0, count: grown - nextSequence.count)
            received += [Int32](repeating: 0, count: grown - received.count)
        }
        phase[index] = 1
        var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(fd: fd))
        epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event)
    }

    func postRequest(sequence: Int) -> String {
        var text = "~\(sequence)~\(now())~"
        text += String(repeating: "x", count: max(0, fanOut.textLength - text.count))
        switch fanOut.server {
        case .malten:
            let body = "stream=\(fanOut.stream)&text=\(text)"
            return "POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        case .nchan:
            return "POST /pub/\(fanOut.stream) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: \(text.utf8.count)\r\n\r\n\(text)"
        }
    }

    // MARK: Reading

    /// Reads every subscriber epoll reports ready.
    mutating func poll(timeoutMilliseconds: Int32) {
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        let ready = epoll_wait(epoll, &events, Int32(events.count), timeoutMilliseconds)
        guard ready > 0 else { return }
        for event in events.prefix(Int(ready)) {
            readSubscriber(event.data.fd)
        }
    }

    /// Reads what has come of the publisher's answers; returns how many are now complete
    /// (each a head, then `Content-Length` bytes).
    func readAnswers(_ fd: Int32, _ response: inout [UInt8]) throws -> Int {
        var wait = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard Glibc.poll(&wait, 1, 0) > 0 else { return 0 }
        var chunk = [UInt8](repeating: 0, count: 16384)
        let n = read(fd, &chunk, chunk.count)
        guard n > 0 else { throw BenchError("the server closed the publisher's connection") }
        response += chunk.prefix(n)
        var complete = 0
        while let end = response.firstRange(of: Array("\r\n\r\n".utf8)) {
            let head = Array(String(decoding: response[..<end.lowerBound], as: UTF8.self).lowercased().utf8)
            guard head.starts(with: Array("http/1.1 20".utf8)) else { throw BenchError("a post was refused") }
            var length = 0
            if let range = head.firstRange(of: Array("content-length:".utf8)) {
                let digits = head[range.upperBound...].drop { $0 == UInt8(ascii: " ") }.prefix { $0 >= 48 && $0 <= 57 }
                length = Int(String(decoding: digits, as: UTF8.self)) ?? 0
            }
            guard response.count - end.upperBound >= length else { break }
            response.removeFirst(end.upperBound + length)
            complete += 1
        }
        return complete
    }

    mutating func readSubscriber(_ fd: Int32) {
        let index = Int(fd)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { return }
            var bytes = buffer[..<n]
            if let rest = leftover.removeValue(forKey: fd) {
                bytes = ArraySlice(rest + bytes)
            }
            if phase[index] == 1 {
                guard let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else {
                    leftover[fd] = Array(bytes)
                    continue
                }
                if bytes.starts(with: Array("HTTP/1.1 200".utf8)) {
                    phase[index] = 2
                    streaming += 1
                } else {
                    phase[index] = 0
                    badStatus += 1
                }
                bytes = bytes[end.upperBound...]
            }
            guard let lastLine = bytes.lastIndex(of: UInt8(ascii: "\n")) else {
                if !bytes.isEmpty { leftover[fd] = Array(bytes) }
                continue
            }
            parse(bytes[...lastLine], subscriber: index)
            if lastLine + 1 < bytes.endIndex { leftover[fd] = Array(bytes[(lastLine + 1)...]) }
        }
    }

    /// Finds `~seq~nanos~` markers and records each delivery.
    mutating func parse(_ bytes: ArraySlice<UInt8>, subscriber: Int) {
        let arrived = now()
        let tilde = UInt8(ascii: "~")
        var i = bytes.startIndex
        while let start = bytes[i...].firstIndex(of: tilde) {
            var j = start + 1
            var sequence = 0
            while j < bytes.endIndex, bytes[j] >= 48, bytes[j] <= 57 {
                sequence = sequence * 10 + Int(bytes[j] - 48)
                j += 1
            }
            guard j < bytes.endIndex, bytes[j] == tilde, j > start + 1 else {
                i = start + 1
                continue
            }
            j += 1
            var sent: Int64 = 0
            while j < bytes.endIndex, bytes[j] >= 48, bytes[j] <= 57 {
                sent = sent * 10 + Int64(bytes[j] - 48)
                j += 1
            }
            guard j < bytes.endIndex, bytes[j] == tilde else {
                i = start + 1
                continue
            }
            if Int32(sequence) != nextSequence[subscriber] { disordered += 1 }
            nextSequence[subscriber] = Int32(sequence) + 1
            received[subscriber] += 1
            latencies.append(UInt32(clamping: (arrived - sent) / 1000))
            i = j + 1
        }
    }

    func now() -> Int64 {
        Int64(Stopwatch.now())
    }
}
