import LLMKit
import ReferenceProvider
import TestSupport
import Testing

@Test func theReferenceProviderKeepsTheProviderContract() async {
    let problems = await ProviderConformance.check(ReferenceProvider())
    #expect(problems.isEmpty, "\(problems)")
}
