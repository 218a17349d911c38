import Foundation

/// The `--html` page: a Gantt timeline of one run and the cold/hot tables, in one file that
/// needs nothing else (inline CSS, no scripts, no URLs), so CI can keep it as an artifact and
/// anyone can open it offline. Written as well-formed XHTML so tests can parse it as XML.
public enum TimingsHTML {
    private static let nameWidth = 170.0
    private static let chartWidth = 760.0
    /// Right of the chart, for the seconds label of a bar that ends there.
    private static let labelRoom = 90.0
    private static let axisHeight = 30.0
    private static let rowHeight = 26.0
    private static let barHeight = 16.0
    private static let outcomes: [PhaseOutcome] = [.ok, .skipped, .failed, .interrupted]

    public static func page(run: TimingsRun, history: TimingsHistory) -> String {
        var lines = [
            "<!DOCTYPE html>",
            "<html lang=\"en\">",
            "<head>",
            "<meta charset=\"utf-8\"/>",
            "<title>\(escape("stack \(run.command): run \(run.run)"))</title>",
            "<style>",
            style,
            "</style>",
            "</head>",
            "<body>",
            "<h1>stack timings</h1>",
            "<p>\(escape(TimingsRender.summary(run)))</p>",
            timeline(run),
            "<p class=\"legend\">" + outcomes.map { "<span class=\"swatch \($0.rawValue)\"></span>\($0.rawValue)" }.joined(separator: " ") + "</p>",
            "<h2>Cold and hot</h2>",
        ]
        for table in ColdHotTable.tables(history) {
            lines.append("<h3>\(escape("stack \(table.command) (\(TimingsRender.runs(table.runs)))"))</h3>")
            lines.append("<table>")
            lines.append("<tr>" + ColdHotTable.header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>")
            lines += table.rows.map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>" }
            lines.append("</table>")
        }
        lines.append("<p class=\"note\">\(escape(ColdHotTable.legend))</p>")
        if !history.skipped.isEmpty {
            lines.append("<h2>Lines skipped</h2>")
            lines.append("<ul>")
            lines += history.skipped.map { "<li>\(escape($0.message(file: history.file)))</li>" }
            lines.append("</ul>")
        }
        lines += ["</body>", "</html>", ""]
        return lines.joined(separator: "\n")
    }

    /// One row per phase in order of start, so phases that overlap in time sit on separate rows
    /// and their bars overlap horizontally; one `rect.phase` each, coloured by outcome.
    static func timeline(_ run: TimingsRun) -> String {
        let phases = run.phases.enumerated().sorted { ($0.element.offset, $0.offset) < ($1.element.offset, $1.offset) }.map(\.element)
        let scale = chartWidth / max(run.seconds, 0.001)
        let width = nameWidth + chartWidth + labelRoom
        let height = axisHeight + Double(phases.count) * rowHeight + 8
        let step = tickStep(run.seconds)
        var svg = ["<svg class=\"timeline\" width=\"\(number(width))\" height=\"\(number(height))\" viewBox=\"0 0 \(number(width)) \(number(height))\">"]
        for tick in stride(from: 0, through: run.seconds, by: step) {
            let x = number(nameWidth + tick * scale)
            svg.append("<line class=\"grid\" x1=\"\(x)\" y1=\"\(number(axisHeight - 6))\" x2=\"\(x)\" y2=\"\(number(height))\"/>")
            svg.append("<text class=\"tick\" x=\"\(x)\" y=\"\(number(axisHeight - 10))\">\(String(format: step < 1 ? "%.1f s" : "%.0f s", tick))</text>")
        }
        for (row, phase) in phases.enumerated() {
            let top = axisHeight + Double(row) * rowHeight
            let baseline = number(top + rowHeight / 2 + 4)
            let x = nameWidth + phase.offset * scale
            // A phase of 0 seconds still gets a visible sliver; its title says the real duration.
            let barWidth = max(1, phase.seconds * scale)
            let seconds = TimingsRender.seconds(phase.seconds) + " s"
            let hover = "\(phase.phase): \(seconds), \(phase.outcome.rawValue), from \(TimingsRender.seconds(phase.offset)) s to "
                + "\(TimingsRender.seconds(phase.offset + phase.seconds)) s; \(TimingsRender.builder(phase.builder, phase.driver)), "
                + "load \(phase.load?.rawValue ?? "-"), cache \(phase.cache.rawValue)"
            svg.append("<text class=\"name\" x=\"\(number(nameWidth - 8))\" y=\"\(baseline)\">\(escape(phase.phase))</text>")
            svg.append("<rect class=\"phase \(phase.outcome.rawValue)\" x=\"\(number(x))\" y=\"\(number(top + (rowHeight - barHeight) / 2))\" "
                + "width=\"\(number(barWidth))\" height=\"\(number(barHeight))\" rx=\"2\"><title>\(escape(hover))</title></rect>")
            svg.append("<text class=\"seconds\" x=\"\(number(x + barWidth + 6))\" y=\"\(baseline)\">\(escape(seconds))</text>")
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }

    /// 1, 2 or 5 times a power of ten, so the axis has at most about eight ticks.
    static func tickStep(_ seconds: Double) -> Double {
        guard seconds > 0 else { return 1 }
        let rough = seconds / 8
        let magnitude = pow(10, floor(log10(rough)))
        return [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
    }

    private static func number(_ value: Double) -> String {
        String(format: "%.1f", value)
    }

    /// Text and attribute values alike; characters XML forbids become U+FFFD.
    static func escape(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            case "\t", "\n", "\r": escaped.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: escaped += "\u{FFFD}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// `.ok` and friends colour both the bars (fill) and the legend's swatches (background).
    private static let style = """
    body { font-family: system-ui, sans-serif; margin: 24px; color: #222; background: #fff; }
    h1 { font-size: 20px; margin: 0 0 4px; }
    h2 { font-size: 16px; margin: 24px 0 8px; }
    h3 { font-size: 14px; margin: 16px 0 6px; }
    svg.timeline { display: block; margin: 12px 0; font-size: 12px; }
    svg .grid { stroke: #ddd; stroke-width: 1; }
    svg .tick { fill: #666; text-anchor: middle; }
    svg .name { fill: #222; text-anchor: end; }
    svg .seconds { fill: #444; }
    rect.phase { stroke: #0003; stroke-width: 1; }
    .ok { fill: #2e8b57; background: #2e8b57; }
    .skipped { fill: #a6a6a6; background: #a6a6a6; }
    .failed { fill: #c0392b; background: #c0392b; }
    .interrupted { fill: #e67e22; background: #e67e22; }
    .swatch { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; vertical-align: middle; }
    table { border-collapse: collapse; font-size: 13px; }
    th, td { border: 1px solid #ccc; padding: 3px 10px; }
    td + td { text-align: right; font-variant-numeric: tabular-nums; }
    .note, .legend { color: #555; font-size: 12px; }
    """
}
