// `pipeline report --html`: one self-contained page of what the router did — per unit the mix it
// ran and why, predicted against measured seconds, prefill and decode throughput, KV bytes in RAM
// and on disk, and the fidelity figures of the mix; per job the totals and documents per hour.
// Charts are inline SVG drawn here (no scripts, no network, no external files), so the page is
// the same in any browser, printed, or archived beside the store.
import Foundation
import Planner
import Store

public struct HTMLReport {
    /// One job: its aggregates, its done units' metrics and the calibration rows of their mixes.
    public struct Job {
        public var report: JobReport
        public var units: [UnitMetrics]
        public var fidelity: String
        public init(report: JobReport, units: [UnitMetrics], fidelity: String) {
            self.report = report
            self.units = units
            self.fidelity = fidelity
        }
    }

    public var jobs: [Job]
    /// Every calibration row of the store (newest row per mix is quoted).
    public var calibrations: [CalibrationRecord]
    public var generatedAt: Date

    public init(jobs: [Job], calibrations: [CalibrationRecord], generatedAt: Date = Date()) {
        self.jobs = jobs
        self.calibrations = calibrations
        self.generatedAt = generatedAt
    }

    static let predictedColour = "#9aa5b1", measuredColour = "#1f6feb", prefillColour = "#2da44e", decodeColour = "#bf8700"
    static let ramColour = "#8250df", diskColour = "#cf222e"

    public func render() -> String {
        var html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>pipeline report</title>
        <style>
        body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #1f2328; }
        h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #d0d7de; }
        table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #d0d7de; padding: 3px 8px; text-align: right; }
        td.l, th.l { text-align: left; } .muted { color: #656d76; } svg { display: block; margin: 0.5em 0 1.5em; }
        .key span { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; vertical-align: -2px; }
        </style></head><body>
        <h1>pipeline report</h1>
        <p class="muted">\(Self.escape(ISO8601DateFormatter().string(from: generatedAt))) — \(jobs.count) job\(jobs.count == 1 ? "" : "s")</p>

        """
        for job in jobs { html += section(job) }
        html += "</body></html>\n"
        return html
    }

    func section(_ job: Job) -> String {
        let r = job.report, units = job.units
        // Units leased together overlap in wall time: the job's time is the union of their spans.
        let busy = UnitMetrics.busySeconds(units)
        let perHour = busy > 0 ? Double(units.count) / busy * 3600 : 0
        var html = """
        <h2>\(Self.escape(r.name)) <span class="muted">(\(r.id))</span></h2>
        <table>
        <tr><th class="l">fidelity</th><td class="l">\(Self.escape(job.fidelity))</td><th class="l">strategy</th><td class="l">\(Self.escape(r.requestedStrategy))</td></tr>
        <tr><th class="l">units</th><td>\(r.units) (\(r.done) done, \(r.failed) failed, \(r.pending + r.running) to go)</td>
        <th class="l">documents per hour</th><td>\(String(format: "%.1f", perHour)) <span class="muted">(\(units.count) units in \(String(format: "%.1f", busy)) s of running)</span></td></tr>
        <tr><th class="l">tokens</th><td>\(r.tokensIn) in, \(r.tokensOut) out</td>
        <th class="l">throughput</th><td>prefill \(String(format: "%.0f", r.prefillTokensPerSecond)) tok/s, decode \(String(format: "%.1f", r.decodeTokensPerSecond)) tok/s</td></tr>
        </table>

        """
        guard !units.isEmpty else { return html + "<p class=\"muted\">No unit is done yet.</p>\n" }
        let labels = units.map { ($0.documentPath as NSString).lastPathComponent }
        html += "<h3>Seconds per unit: predicted by the cost model, measured (prefill + decode, batch steps shared)</h3>\n"
        html += Self.key([("predicted", Self.predictedColour), ("measured", Self.measuredColour)])
        html += Self.barChart(labels: labels, series: [
            units.map { $0.metrics.predictedSeconds ?? .nan }, units.map(\.metrics.engineSeconds),
        ], colours: [Self.predictedColour, Self.measuredColour], unit: "s", id: "seconds-\(r.id)")
        html += "<h3>Throughput per unit (tokens per second)</h3>\n"
        html += Self.key([("prefill ÷ 100", Self.prefillColour), ("decode", Self.decodeColour)])
        html += Self.barChart(labels: labels, series: [
            units.map { $0.metrics.prefillTokensPerSecond / 100 }, units.map(\.metrics.decodeTokensPerSecond),
        ], colours: [Self.prefillColour, Self.decodeColour], unit: "tok/s", id: "throughput-\(r.id)")
        html += "<h3>KV cache per unit (MiB)</h3>\n"
        html += Self.key([("in RAM", Self.ramColour), ("on disk", Self.diskColour)])
        html += Self.barChart(labels: labels, series: [
            units.map { Double($0.metrics.kvBytesInMemory) / 1_048_576 }, units.map { Double($0.metrics.kvBytesOnDisk) / 1_048_576 },
        ], colours: [Self.ramColour, Self.diskColour], unit: "MiB", id: "kv-\(r.id)")
        html += "<table><tr><th class=\"l\">document</th><th class=\"l\">mix</th><th>predicted s</th><th>measured s</th><th>wall s</th><th>batch</th>"
            + "<th>prefill tok/s</th><th>decode tok/s</th><th>KV RAM MiB</th><th>KV disk MiB</th><th class=\"l\">fidelity of the mix</th>"
            + "<th class=\"l\">why</th></tr>\n"
        for (label, unit) in zip(labels, units) {
            let m = unit.metrics
            html += "<tr><td class=\"l\">\(Self.escape(label))</td><td class=\"l\">\(Self.escape(m.strategyMix))</td>"
                + "<td>\(m.predictedSeconds.map { String(format: "%.1f", $0) } ?? "—")</td><td>\(String(format: "%.1f", m.engineSeconds))</td>"
                + "<td>\(String(format: "%.1f", m.wallSeconds))</td><td>\(m.batchSize ?? 1)</td>"
                + "<td>\(String(format: "%.0f", m.prefillTokensPerSecond))</td><td>\(String(format: "%.1f", m.decodeTokensPerSecond))</td>"
                + "<td>\(String(format: "%.1f", Double(m.kvBytesInMemory) / 1_048_576))</td>"
                + "<td>\(String(format: "%.1f", Double(m.kvBytesOnDisk) / 1_048_576))</td>"
                + "<td class=\"l\">\(Self.escape(fidelityFigures(of: m.strategyMix)))</td>"
                + "<td class=\"l\">\(Self.escape(m.routeReason ?? "—"))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    /// The newest calibration row of the mix labelled `label`, as the tiers read it.
    func fidelityFigures(of label: String) -> String {
        if label == StrategyMix.exact.label { return "exact (the reference)" }
        let rows = calibrations.filter { row in
            StrategyMix(strategy: row.strategy, parametersJSON: row.parameters, kv: row.kvFormat)?.label == label
        }
        guard let row = rows.max(by: { $0.measuredAt < $1.measuredAt }) else { return "no calibration row" }
        var text = String(format: "mean KL %.4f", row.meanKL)
        if let p = row.probableTop1Agreement { text += String(format: ", top-1 %.2f%% where dense is confident", p * 100) }
        if let kept = row.needlesKept, let passed = row.needlesReferencePassed { text += ", needles \(kept)/\(passed)" }
        if let changed = row.answersChanged, let compared = row.answersCompared { text += ", \(changed)/\(compared) answers changed" }
        return text
    }

    static func key(_ entries: [(String, String)]) -> String {
        "<div class=\"key\">" + entries.map { "<span style=\"background:\($0.1)\"></span>\(escape($0.0))" }.joined() + "</div>\n"
    }

    /// Grouped horizontal bars: one group per label, one bar per series, scaled to the largest value.
    /// A value that is not a number (no prediction: no machine profile) gets no bar and a dash.
    static func barChart(labels: [String], series: [[Double]], colours: [String], unit: String, id: String) -> String {
        let barHeight = 12.0, gap = 8.0, labelWidth = 220.0, plotWidth = 520.0
        let group = Double(series.count) * barHeight + gap
        let height = Double(labels.count) * group + 20
        let top = max(series.flatMap { $0 }.filter(\.isFinite).max() ?? 0, 1e-9)
        var svg = "<svg id=\"\(escape(id))\" width=\"\(Int(labelWidth + plotWidth + 80))\" height=\"\(Int(height))\" role=\"img\">\n"
        for (i, label) in labels.enumerated() {
            let y0 = Double(i) * group
            svg += "<text x=\"\(Int(labelWidth - 6))\" y=\"\(Int(y0 + Double(series.count) * barHeight / 2 + 4))\" text-anchor=\"end\" font-size=\"11\">\(escape(label))</text>\n"
            for (s, values) in series.enumerated() {
                let known = values[i].isFinite
                let v = known ? max(0, values[i]) : 0
                let w = max(v > 0 ? 1 : 0, v / top * plotWidth)
                let y = y0 + Double(s) * barHeight
                let text = known ? String(format: v >= 100 ? "%.0f" : "%.1f", v) : "—"
                svg += "<rect class=\"bar\" x=\"\(Int(labelWidth))\" y=\"\(Int(y))\" width=\"\(String(format: "%.1f", w))\" height=\"\(Int(barHeight - 2))\" fill=\"\(colours[s])\"><title>\(escape(label)): \(known ? String(format: "%.2f", v) + " " + unit : "none")</title></rect>\n"
                svg += "<text x=\"\(Int(labelWidth + w + 4))\" y=\"\(Int(y + barHeight - 3))\" font-size=\"10\" fill=\"#656d76\">\(text)</text>\n"
            }
        }
        svg += "<line x1=\"\(Int(labelWidth))\" y1=\"0\" x2=\"\(Int(labelWidth))\" y2=\"\(Int(height - 20))\" stroke=\"#d0d7de\"/>\n</svg>\n"
        return svg
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
