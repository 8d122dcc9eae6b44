import Foundation
import Testing
import TestSupport

/// `pipeline report --html` on a store with done units, rendered by headless Chromium (Debian's
/// `chromium`, installed by scripts/test.sh): the page loads without scripts or network and its
/// charts are drawn — the screenshot holds the bars' colours in the chart area.
@Suite struct ReportRenderingTests {
    @Test func theReportRendersItsChartsInChromium() throws {
        let w = Workspace()
        _ = SyntheticModel.chat(seed: 3).write(in: w.folder, name: "models/tiny.gguf")
        w.documents(2, words: 30)
        let job = w.job("reported", prompts: ["One?"], extra: ["model": "../models/tiny.gguf", "max_new_tokens": 3])
        func cli(_ args: [String]) throws -> CLIResult { try Processes.pipeline(args, database: w.databasePath, in: w.folder.path) }
        #expect(try cli(["submit", job]).status == 0)
        #expect(try cli(["run", "--threads", "2", "--batch-units", "1"]).status == 0)
        let report = try cli(["report", "reported", "--html", "report.html"])
        #expect(report.status == 0, "\(report.stderr)")
        let page = try String(contentsOfFile: w.folder.file("report.html"), encoding: .utf8)
        #expect(!page.contains("<script") && !page.contains("http://") && !page.contains("https://"))
        #expect(page.components(separatedBy: "<rect class=\"bar\"").count - 1 == 3 * 2 * 2) // 3 charts × 2 units × 2 series
        #expect(page.contains("doc-1.txt") && page.contains("dense+f16"))

        let png = w.folder.file("report.png")
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let browser = try #require(chromium, "headless Chromium is needed (apt-get install chromium; scripts/test.sh installs it)")
        let shot = Process()
        shot.executableURL = URL(fileURLWithPath: browser)
        shot.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1000,1400",
                          "--screenshot=\(png)", "file://" + w.folder.file("report.html")]
        shot.standardOutput = FileHandle.nullDevice
        shot.standardError = FileHandle.nullDevice
        try shot.run()
        shot.waitUntilExit()
        #expect(shot.terminationStatus == 0)
        // Pixels of each series colour in the screenshot (a PNG decoder in the Python standard library).
        let counts = try pixelCounts(png, colours: ["1f6feb", "2da44e", "8250df"])
        #expect(counts.allSatisfy { $0 > 50 }, "bar pixels per colour: \(counts)")
    }

    func pixelCounts(_ png: String, colours: [String]) throws -> [Int] {
        let script = """
        import sys, zlib, struct
        data = open(sys.argv[1], 'rb').read()
        assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
        pos, idat, w, h, ct = 8, b'', 0, 0, 0
        while pos < len(data):
            n, kind = struct.unpack('>I4s', data[pos:pos + 8]); body = data[pos + 8:pos + 8 + n]; pos += 12 + n
            if kind == b'IHDR': w, h, depth, ct = struct.unpack('>IIBB', body[:10])
            elif kind == b'IDAT': idat += body
        bpp = {2: 3, 6: 4}[ct]; raw = zlib.decompress(idat); stride = w * bpp
        prev, rows, i = bytearray(stride), [], 0
        for _ in range(h):
            f = raw[i]; line = bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0; b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
                if f == 1: line[x] = (line[x] + a) & 255
                elif f == 2: line[x] = (line[x] + b) & 255
                elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
                elif f == 4:
                    p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            rows.append(line); prev = line
        for colour in sys.argv[2:]:
            rgb = bytes.fromhex(colour)
            print(sum(1 for line in rows for x in range(0, stride, bpp) if bytes(line[x:x + 3]) == rgb))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, png] + colours
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return out.split(separator: "\n").compactMap { Int($0) }
    }
}
