// `custom-promptlab`: promptlab with the built-in providers plus `reference`.
import PromptLabCLI
import Providers
import ReferenceProvider

var registry = BuiltinProviders.registry()
registry.register("reference", summary: "answers every item with its reference distribution (a laziness baseline)") { _ in
    ReferenceProvider()
}
await PromptLabCLI.main(registry: registry)
