import ArgumentParser
import Foundation
import LLMKit

/// `promptlab fit`: fits the evidence weight and temperature of a `logprob` or `lexicon` run to
/// a gold relabeling, cross-validated, and writes the run re-mixed with the fitted values.
struct FitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit w and the evidence temperature of a logprob or lexicon run to a gold relabeling (k-fold cross-validated).",
        discussion: """
            Reads the evidence each line of RUN recorded (no model is asked), tries w from 0 to \
            0.5 by 0.01 and T in 0.5 ... 8, and picks the pair with the least mean JS divergence \
            to the gold: for each fold on the other folds (the held-out figures say what the fit \
            is worth), then on all items (the values to use). With --out, writes RUN re-mixed \
            with them; its journal header records the fitted values under method_parameters \
            (weight, evidence_temperature, preserve_ties, fitted: folds, cv_js, gold, gold_sha256). \
            To apply them to another corpus: relabel --description-weight W --evidence-temperature T.
            """)

    @Argument(help: ArgumentHelp("A finished relabel output of --method logprob or lexicon.", valueName: "run"))
    var run: String

    @OptionGroup var dataset: DatasetOptions

    @Option(help: ArgumentHelp("The gold relabeling (project JSONL with 'gold' or 'reference', or an EMO-SUPERB CSV such as GPT-4's published relabels).", valueName: "file"))
    var gold: String

    @Option(help: "Cross-validation folds (2 or more).")
    var folds: Int = 5

    @Flag(name: .customLong("preserve-ties"), help: "Fit the tie-preserving mix (the evidence averaged over the reference's top classes).")
    var preserveTies = false

    @Option(help: ArgumentHelp("Write RUN re-mixed with the fitted values to this file.", valueName: "file"))
    var out: String?

    @Option(help: ArgumentHelp("Also write the fit as JSON to this file.", valueName: "file"))
    var json: String?

    @Flag(help: "Replace an existing --out.")
    var overwrite = false

    func validate() throws {
        if folds < 2 { throw ValidationError("--folds must be 2 or more") }
    }

    func run() async throws {
        let inputs = [run, dataset.dataset, gold]
        for output in [out, json].compactMap({ $0 }) {
            try FileChecks.requireDistinct(output: output, from: inputs)
            try FileChecks.prepareOutput(output)
        }
        try FileChecks.requireDistinct(outputs: [out, json].compactMap { $0 })
        if let out, !overwrite, FileManager.default.fileExists(atPath: out) {
            throw ValidationError("\(out) exists; give --overwrite to replace it")
        }
        let mapping = try dataset.columns.mapping()
        let (run, path, format, gold, folds, preserveTies, out) = (run, dataset.dataset, dataset.format, gold, folds, preserveTies, out)
        let fit = try await BlockingIOPool.shared.run {
            let data = try Scoring.loadDataset(path, format: format, mapping: mapping, gold: gold)
            return try EvidenceFit.fit(run: run, dataset: data, gold: gold, folds: folds, preservesTies: preserveTies, output: out)
        }
        print(Self.render(fit, run: run, gold: gold, out: out))
        if let json { try AtomicFileWriter.write(JSONSerializer.string(fit.result.json, style: .pretty), to: json) }
    }

    static func render(_ fit: EvidenceFit.RunFit, run: String, gold: String, out: String?) -> String {
        let r = fit.result
        func f(_ x: Double) -> String { String(format: "%.4f", x) }
        func pct(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }
        let rows = r.folds.map { fold in
            ["\(fold.index + 1)", "\(fold.items)", String(format: "%.2f", fold.weight), String(format: "%g", fold.temperature),
             f(fold.js), f(fold.jsUnchanged), pct(fold.argmax), pct(fold.argmaxUnchanged)]
        }
        var text = "fit of \(run) (method \(fit.fingerprint.method)) to \(gold): \(fit.fitted) items with evidence and a gold"
        text += " (left out: \(fit.noEvidence) without evidence, \(fit.failed) failed, \(fit.withoutGold) without a gold)\n"
        text += Table.render(header: ["fold", "items", "w", "T", "JS held out", "JS unchanged", "argmax", "argmax unchanged"], rows: rows) + "\n"
        text += "cross-validated: JS \(f(r.crossValidatedJS)) (unchanged \(f(r.unchangedJS))), argmax agreement \(pct(r.crossValidatedArgmax)) (unchanged \(pct(r.unchangedArgmax)))\n"
        text += "fitted on all items: w = \(String(format: "%.2f", r.weight)), T = \(String(format: "%g", r.temperature))\(r.preservesTies ? ", ties preserved" : "")"
        text += " (relabel --description-weight \(String(format: "%.2f", r.weight)) --evidence-temperature \(String(format: "%g", r.temperature))\(r.preservesTies ? " --preserve-ties" : ""))"
        if let out { text += "\nwritten: \(out) (re-mixed; the header records the fit)" }
        return text
    }
}
