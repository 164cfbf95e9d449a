// The advisor conformance suite, run again with the OpenAI-compatible adapter against the
// Chat Completions fake (see useModelProvider in ../helpers.ts).
import { useModelProvider } from '../helpers.ts';

useModelProvider('openai');
await import('../advisor.test.ts');
