export { ReverseDns, REVERSE_DNS_DEFAULTS, type ReverseDnsOptions, type ReverseDnsStats } from './reverse-dns.js';
export { isPublicAddress } from './reserved.js';
