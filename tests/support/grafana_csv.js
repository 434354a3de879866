// Grafana's own "Inspect → Data → Download CSV" on data frames, run with @grafana/data (driven by grafana_csv.py).
//
// stdin:  a JSON array of jobs {frame: {fields: [{name, type, values}]}, fieldConfig, formatted: bool}
// stdout: a JSON array with the CSV text of each job, exactly as the download's file holds it.
// argv[2]: the node_modules folder that holds @grafana/data.
//
// What the inspector does (grafana/grafana public/app/features/inspector/InspectDataTab.tsx):
// - getProcessedData(): with "Formatted data" on (the default: dashboard-scene/inspect/InspectDataTab.tsx
//   sets withFieldConfig: true), applyFieldOverrides() with the panel's fieldConfig, its `custom` part
//   cleared for a table panel (cleanTableConfigFromFieldConfig); off: applyRawFieldOverrides();
// - exportCsv(): downloadDataFrameAsCsv(frame, name, {}, transformId, excelCompatibilityMode), which is
//   toCSV([frame], {}) unless "Download for Excel" is on (utils/download.ts).
// applyFieldOverrides only applies the properties the field config registry knows; Grafana registers
// them at start-up (public/app/core/components/OptionsUI/registry.tsx, getAllStandardFieldConfigs): the
// same ids, paths, processors and shouldApply rules are registered here.
'use strict';

const path = require('path');

// @grafana/data reads the browser's language when it builds its date formats.
global.navigator = { language: 'en-US', languages: ['en-US'] };
const data = require(path.resolve(process.argv[2], '@grafana', 'data'));

function standardFieldConfigs() {
  const always = () => true;
  const numeric = (field) => field.type === data.FieldType.number;
  return [
    { id: 'unit', path: 'unit', process: data.stringOverrideProcessor, shouldApply: always },
    { id: 'min', path: 'min', process: data.numberOverrideProcessor, shouldApply: numeric },
    { id: 'max', path: 'max', process: data.numberOverrideProcessor, shouldApply: numeric },
    { id: 'decimals', path: 'decimals', process: data.numberOverrideProcessor, shouldApply: numeric },
    { id: 'displayName', path: 'displayName', process: data.displayNameOverrideProcessor, shouldApply: always },
    { id: 'color', path: 'color', process: data.identityOverrideProcessor, shouldApply: always },
    { id: 'noValue', path: 'noValue', process: data.stringOverrideProcessor, shouldApply: always },
    { id: 'links', path: 'links', process: data.dataLinksOverrideProcessor, shouldApply: always },
    {
      id: 'mappings',
      path: 'mappings',
      process: data.valueMappingsOverrideProcessor,
      defaultValue: [],
      shouldApply: (field) => field.type !== data.FieldType.time,
    },
    { id: 'thresholds', path: 'thresholds', process: data.thresholdsOverrideProcessor, shouldApply: always },
  ].map((item) => ({ name: item.id, override: null, editor: null, settings: {}, ...item }));
}

const registry = new data.FieldConfigOptionsRegistry(standardFieldConfigs);

function download(job) {
  const frame = data.createDataFrame(job.frame);
  let processed;
  if (job.formatted) {
    const fieldConfig = JSON.parse(JSON.stringify(job.fieldConfig));
    fieldConfig.defaults.custom = {}; // cleanTableConfigFromFieldConfig, for the table panel
    processed = data.applyFieldOverrides({
      data: [frame],
      fieldConfig,
      fieldConfigRegistry: registry,
      theme: data.createTheme(),
      timeZone: 'browser',
      replaceVariables: (value) => value,
    });
  } else {
    processed = data.applyRawFieldOverrides([frame]);
  }
  return data.toCSV([processed[0]], {});
}

function main() {
  const chunks = [];
  process.stdin.on('data', (chunk) => chunks.push(chunk));
  process.stdin.on('end', () => {
    const jobs = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    process.stdout.write(JSON.stringify(jobs.map(download)));
  });
}

main();
