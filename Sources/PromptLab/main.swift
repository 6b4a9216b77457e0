// `promptlab`: the PromptLab command-line tool with the providers this package ships.
import PromptLabCLI
import Providers

await PromptLabCLI.main(registry: BuiltinProviders.registry())
