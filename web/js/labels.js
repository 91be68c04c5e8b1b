// labels.js: the display names of what the JSON form carries only by
// property name (the XML form's display-name attributes, as the console
// prints them), and the map from `show protocols` properties to the
// `set protocols` words.

// `show versions`, in device order.
export const VERSION_FIELDS = [
  ['bundle-version', 'Bundle Version'],
  ['build-date', 'Build Date'],
  ['bundle-base-version', 'Base Bundle Version'],
  ['sc-fw', 'Storage Controller Code Version'],
  ['sc-baselevel', 'Storage Controller Code Baselevel'],
  ['sc-memory', 'Memory Controller FPGA Code Version'],
  ['sc-fu-version', 'FU Version'],
  ['sc-loader', 'Storage Controller Loader Code Version'],
  ['sc-cpu-type', 'Storage Controller CPU Type'],
  ['capi-version', 'CAPI Version'],
  ['mc-fw', 'Management Controller Code Version'],
  ['mc-loader', 'Management Controller Loader Code Version'],
  ['mc-base-fw', 'Management Controller Base Version'],
  ['fw-default-platform-brand', 'Firmware Default Platform Brand'],
  ['ec-fw', 'Expander Controller Code Version'],
  ['pld-rev', 'CPLD Code Version'],
  ['pm-cpld-version', 'PM CPLD Code Version'],
  ['prm-version', 'PRM CPLD Code Version'],
  ['hw-rev', 'Hardware Version'],
];

// `show protocols` property -> [set protocols word, label, note, served].
// Served: what Tandem runs (the controller's settings table); the family's
// other services are listed as not provided (the controller refuses to
// enable them).
export const PROTOCOLS = [
  ['wbi-https', 'https', 'Web UI and API over HTTPS', 'This page and the HTTP API, encrypted.', true],
  ['wbi-http', 'http', 'Web UI and API over HTTP', 'Unencrypted: passwords and keys cross the network in clear.', true],
  ['cli-ssh', 'ssh', 'SSH command line', 'Encrypted command line.', true],
  ['sftp', 'sftp', 'SFTP', 'Firmware loads and logs over SSH.', true],
  ['ftp', 'ftp', 'FTP', 'Firmware loads; unencrypted.', true],
  ['cli-telnet', 'telnet', 'Telnet command line', 'Unencrypted command line.', true],
  ['snmp', 'snmp', 'SNMP', null, false],
  ['smis', 'smis', 'SMI-S', null, false],
  ['usmis', 'usmis', 'Unsecure SMI-S', null, false],
  ['slp', 'slp', 'Service Location Protocol', null, false],
  ['debug-interface', 'debug', 'Debug interface', null, false],
  ['inband-ses', 'ses', 'In-band SES', null, false],
  ['activity-progress', 'activity', 'Activity progress reporting', null, false],
];

// `show advanced-settings`: the PFU and its limits.
export const PFU_LIMITS = [
  ['pfu-attempt-limit', 'Attempt limit', 'attempts', 'Failed attempts before PFU halts.', 1, 20],
  ['pfu-backoff-seconds', 'Back-off', 'seconds', 'Wait after a failed attempt; doubled after each further failure, up to 16 times.', 1, 86400],
  ['pfu-partner-wait-seconds', 'Partner wait', 'seconds', 'How long the partner may take to restart on the new bundle.', 5, 86400],
];

export const SEVERITIES = ['CRITICAL', 'ERROR', 'WARNING', 'INFORMATIONAL'];

// The event code of partner firmware update progress.
export const PFU_EVENT_CODE = '269';
