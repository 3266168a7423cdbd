/// The page's icon: a small stream of three lines, drawn in SVG.
enum WebIcon {
    static let svg = #"""
    <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0b63ce"/><path d="M7 11h18M7 16h13M7 21h16" stroke="#fff" stroke-width="3" stroke-linecap="round"/></svg>

    """#
}
