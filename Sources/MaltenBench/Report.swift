/// What a benchmark run found: figures, and checks of figures against a profile's limits.
public struct Report: Sendable {
    /// One measured figure.
    public struct Figure: Sendable {
        public var name: String
        public var value: Double
        public var unit: String
    }

    /// A figure held against a limit.
    public struct Check: Sendable {
        public var name: String
        public var value: Double
        public var limit: Double
        /// `true`: the value must be at most the limit; `false`: at least.
        public var atMost: Bool
        public var unit: String
        public var passed: Bool { atMost ? value <= limit : value >= limit }
    }

    public var profile: String
    public var machine: String
    public private(set) var figures: [Figure] = []
    public private(set) var checks: [Check] = []

    public init(profile: String, machine: String) {
        self.profile = profile
        self.machine = machine
    }

    public var passed: Bool { checks.allSatisfy(\.passed) }

    mutating func add(_ name: String, _ value: Double, _ unit: String) {
        figures.append(Figure(name: name, value: value, unit: unit))
    }

    mutating func check(_ name: String, _ value: Double, atMost limit: Double, _ unit: String) {
        checks.append(Check(name: name, value: value, limit: limit, atMost: true, unit: unit))
    }

    mutating func check(_ name: String, _ value: Double, atLeast limit: Double, _ unit: String) {
        checks.append(Check(name: name, value: value, limit: limit, atMost: false, unit: unit))
    }

    /// A table for people.
    public var table: String {
        var lines = ["malten-bench, profile \(profile), \(machine)", ""]
        let width = max(figures.map(\.name.count).max() ?? 0, checks.map(\.name.count).max() ?? 0) + 2
        func pad(_ text: String) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        for figure in figures {
            lines.append(pad(figure.name) + Self.format(figure.value) + " " + figure.unit)
        }
        lines.append("")
        for check in checks {
            let relation = check.atMost ? "<=" : ">="
            lines.append(
                pad(check.name) + "\(check.passed ? "PASS" : "FAIL")  \(Self.format(check.value)) \(relation) "
                    + "\(Self.format(check.limit)) \(check.unit)")
        }
        lines.append("")
        lines.append(passed ? "PASS" : "FAIL")
        return lines.joined(separator: "\n")
    }

    /// The same as JSON, for machines.
    public var json: String {
        func quote(_ text: String) -> String { "\"" + text.replacingAll("\"", with: "\\\"") + "\"" }
        let figureText = figures.map {
            "{\"name\":\(quote($0.name)),\"value\":\(Self.number($0.value)),\"unit\":\(quote($0.unit))}"
        }
        let checkText = checks.map {
            "{\"name\":\(quote($0.name)),\"value\":\(Self.number($0.value)),\"limit\":\(Self.number($0.limit)),"
                + "\"relation\":\(quote($0.atMost ? "<=" : ">=")),\"unit\":\(quote($0.unit)),\"passed\":\($0.passed)}"
        }
        return "{\"profile\":\(quote(profile)),\"machine\":\(quote(machine)),\"passed\":\(passed),"
            + "\"figures\":[\(figureText.joined(separator: ","))],\"checks\":[\(checkText.joined(separator: ","))]}"
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return groupThousands(Int64(value)) }
        if abs(value) >= 100 { return groupThousands(Int64(value.rounded())) }
        return String(Int64((value * 100).rounded()) / 100) + "." + twoDigits(Int64((abs(value) * 100).rounded()) % 100)
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    private static func twoDigits(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }

    private static func groupThousands(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(" ") }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + out
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self { if character == target { out += replacement } else { out.append(character) } }
        return out
    }
}
