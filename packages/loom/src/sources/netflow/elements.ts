/**
 * The IANA IPFIX Information Element registry (https://www.iana.org/assignments/ipfix), which
 * NetFlow v9 field types 1–127 share: number, name and abstract data type. A value's type
 * decides how its bytes are read; its name, in snake_case, is its key under `netflow.*`.
 *
 * Elements not listed here (unassigned numbers, NetFlow v9 vendor types, enterprise-specific
 * elements) are skipped rather than emitted under made-up names: an exporter could otherwise
 * create thousands of distinct field names and blow up the mappings of the stores downstream.
 */

/** How a value's bytes are read. */
export const Kind = {
  Skip: 0,
  Unsigned: 1,
  Signed: 2,
  Float: 3,
  Boolean: 4,
  Mac: 5,
  Octets: 6,
  String: 7,
  Seconds: 8,
  Milliseconds: 9,
  Microseconds: 10,
  Nanoseconds: 11,
  Ipv4: 12,
  Ipv6: 13,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

// "number name type" entries; types: u unsigned, s signed, f float, bool, mac, oct octetArray,
// str string, ds/dms/dus/dns dateTime seconds/milliseconds/microseconds/nanoseconds,
// ip4/ip6 addresses, list (basicList and subTemplate lists, skipped).
const REGISTRY = `
1 octetDeltaCount u | 2 packetDeltaCount u | 3 deltaFlowCount u | 4 protocolIdentifier u | 5 ipClassOfService u
6 tcpControlBits u | 7 sourceTransportPort u | 8 sourceIPv4Address ip4 | 9 sourceIPv4PrefixLength u
10 ingressInterface u | 11 destinationTransportPort u | 12 destinationIPv4Address ip4
13 destinationIPv4PrefixLength u | 14 egressInterface u | 15 ipNextHopIPv4Address ip4 | 16 bgpSourceAsNumber u
17 bgpDestinationAsNumber u | 18 bgpNextHopIPv4Address ip4 | 19 postMCastPacketDeltaCount u
20 postMCastOctetDeltaCount u | 21 flowEndSysUpTime u | 22 flowStartSysUpTime u | 23 postOctetDeltaCount u
24 postPacketDeltaCount u | 25 minimumIpTotalLength u | 26 maximumIpTotalLength u | 27 sourceIPv6Address ip6
28 destinationIPv6Address ip6 | 29 sourceIPv6PrefixLength u | 30 destinationIPv6PrefixLength u
31 flowLabelIPv6 u | 32 icmpTypeCodeIPv4 u | 33 igmpType u | 34 samplingInterval u | 35 samplingAlgorithm u
36 flowActiveTimeout u | 37 flowIdleTimeout u | 38 engineType u | 39 engineId u | 40 exportedOctetTotalCount u
41 exportedMessageTotalCount u | 42 exportedFlowRecordTotalCount u | 43 ipv4RouterSc ip4
44 sourceIPv4Prefix ip4 | 45 destinationIPv4Prefix ip4 | 46 mplsTopLabelType u | 47 mplsTopLabelIPv4Address ip4
48 samplerId u | 49 samplerMode u | 50 samplerRandomInterval u | 51 classId u | 52 minimumTTL u
53 maximumTTL u | 54 fragmentIdentification u | 55 postIpClassOfService u | 56 sourceMacAddress mac
57 postDestinationMacAddress mac | 58 vlanId u | 59 postVlanId u | 60 ipVersion u | 61 flowDirection u
62 ipNextHopIPv6Address ip6 | 63 bgpNextHopIPv6Address ip6 | 64 ipv6ExtensionHeaders u
70 mplsTopLabelStackSection oct | 71 mplsLabelStackSection2 oct | 72 mplsLabelStackSection3 oct
73 mplsLabelStackSection4 oct | 74 mplsLabelStackSection5 oct | 75 mplsLabelStackSection6 oct
76 mplsLabelStackSection7 oct | 77 mplsLabelStackSection8 oct | 78 mplsLabelStackSection9 oct
79 mplsLabelStackSection10 oct | 80 destinationMacAddress mac | 81 postSourceMacAddress mac
82 interfaceName str | 83 interfaceDescription str | 84 samplerName str | 85 octetTotalCount u
86 packetTotalCount u | 87 flagsAndSamplerId u | 88 fragmentOffset u | 89 forwardingStatus u
90 mplsVpnRouteDistinguisher oct | 91 mplsTopLabelPrefixLength u | 92 srcTrafficIndex u | 93 dstTrafficIndex u
94 applicationDescription str | 95 applicationId oct | 96 applicationName str | 98 postIpDiffServCodePoint u
99 multicastReplicationFactor u | 100 className str | 101 classificationEngineId u
102 layer2packetSectionOffset u | 103 layer2packetSectionSize u | 104 layer2packetSectionData oct
128 bgpNextAdjacentAsNumber u | 129 bgpPrevAdjacentAsNumber u | 130 exporterIPv4Address ip4
131 exporterIPv6Address ip6 | 132 droppedOctetDeltaCount u | 133 droppedPacketDeltaCount u
134 droppedOctetTotalCount u | 135 droppedPacketTotalCount u | 136 flowEndReason u | 137 commonPropertiesId u
138 observationPointId u | 139 icmpTypeCodeIPv6 u | 140 mplsTopLabelIPv6Address ip6 | 141 lineCardId u
142 portId u | 143 meteringProcessId u | 144 exportingProcessId u | 145 templateId u | 146 wlanChannelId u
147 wlanSSID str | 148 flowId u | 149 observationDomainId u | 150 flowStartSeconds ds | 151 flowEndSeconds ds
152 flowStartMilliseconds dms | 153 flowEndMilliseconds dms | 154 flowStartMicroseconds dus
155 flowEndMicroseconds dus | 156 flowStartNanoseconds dns | 157 flowEndNanoseconds dns
158 flowStartDeltaMicroseconds u | 159 flowEndDeltaMicroseconds u | 160 systemInitTimeMilliseconds dms
161 flowDurationMilliseconds u | 162 flowDurationMicroseconds u | 163 observedFlowTotalCount u
164 ignoredPacketTotalCount u | 165 ignoredOctetTotalCount u | 166 notSentFlowTotalCount u
167 notSentPacketTotalCount u | 168 notSentOctetTotalCount u | 169 destinationIPv6Prefix ip6
170 sourceIPv6Prefix ip6 | 171 postOctetTotalCount u | 172 postPacketTotalCount u | 173 flowKeyIndicator u
174 postMCastPacketTotalCount u | 175 postMCastOctetTotalCount u | 176 icmpTypeIPv4 u | 177 icmpCodeIPv4 u
178 icmpTypeIPv6 u | 179 icmpCodeIPv6 u | 180 udpSourcePort u | 181 udpDestinationPort u | 182 tcpSourcePort u
183 tcpDestinationPort u | 184 tcpSequenceNumber u | 185 tcpAcknowledgementNumber u | 186 tcpWindowSize u
187 tcpUrgentPointer u | 188 tcpHeaderLength u | 189 ipHeaderLength u | 190 totalLengthIPv4 u
191 payloadLengthIPv6 u | 192 ipTTL u | 193 nextHeaderIPv6 u | 194 mplsPayloadLength u
195 ipDiffServCodePoint u | 196 ipPrecedence u | 197 fragmentFlags u | 198 octetDeltaSumOfSquares u
199 octetTotalSumOfSquares u | 200 mplsTopLabelTTL u | 201 mplsLabelStackLength u | 202 mplsLabelStackDepth u
203 mplsTopLabelExp u | 204 ipPayloadLength u | 205 udpMessageLength u | 206 isMulticast u | 207 ipv4IHL u
208 ipv4Options u | 209 tcpOptions u | 210 paddingOctets oct | 211 collectorIPv4Address ip4
212 collectorIPv6Address ip6 | 213 exportInterface u | 214 exportProtocolVersion u
215 exportTransportProtocol u | 216 collectorTransportPort u | 217 exporterTransportPort u
218 tcpSynTotalCount u | 219 tcpFinTotalCount u | 220 tcpRstTotalCount u | 221 tcpPshTotalCount u
222 tcpAckTotalCount u | 223 tcpUrgTotalCount u | 224 ipTotalLength u | 225 postNATSourceIPv4Address ip4
226 postNATDestinationIPv4Address ip4 | 227 postNAPTSourceTransportPort u
228 postNAPTDestinationTransportPort u | 229 natOriginatingAddressRealm u | 230 natEvent u
231 initiatorOctets u | 232 responderOctets u | 233 firewallEvent u | 234 ingressVRFID u | 235 egressVRFID u
236 VRFname str | 237 postMplsTopLabelExp u | 238 tcpWindowScale u | 239 biflowDirection u
240 ethernetHeaderLength u | 241 ethernetPayloadLength u | 242 ethernetTotalLength u | 243 dot1qVlanId u
244 dot1qPriority u | 245 dot1qCustomerVlanId u | 246 dot1qCustomerPriority u | 247 metroEvcId str
248 metroEvcType u | 249 pseudoWireId u | 250 pseudoWireType u | 251 pseudoWireControlWord u
252 ingressPhysicalInterface u | 253 egressPhysicalInterface u | 254 postDot1qVlanId u
255 postDot1qCustomerVlanId u | 256 ethernetType u | 257 postIpPrecedence u | 258 collectionTimeMilliseconds dms
259 exportSctpStreamId u | 260 maxExportSeconds ds | 261 maxFlowEndSeconds ds | 262 messageMD5Checksum oct
263 messageScope u | 264 minExportSeconds ds | 265 minFlowStartSeconds ds | 266 opaqueOctets oct
267 sessionScope u | 268 maxFlowEndMicroseconds dus | 269 maxFlowEndMilliseconds dms
270 maxFlowEndNanoseconds dns | 271 minFlowStartMicroseconds dus | 272 minFlowStartMilliseconds dms
273 minFlowStartNanoseconds dns | 274 collectorCertificate oct | 275 exporterCertificate oct
276 dataRecordsReliability bool | 277 observationPointType u | 278 newConnectionDeltaCount u
279 connectionSumDurationSeconds u | 280 connectionTransactionId u | 281 postNATSourceIPv6Address ip6
282 postNATDestinationIPv6Address ip6 | 283 natPoolId u | 284 natPoolName str | 285 anonymizationFlags u
286 anonymizationTechnique u | 287 informationElementIndex u | 288 p2pTechnology str | 289 tunnelTechnology str
290 encryptedTechnology str | 291 basicList list | 292 subTemplateList list | 293 subTemplateMultiList list
294 bgpValidityState u | 295 IPSecSPI u | 296 greKey u | 297 natType u | 298 initiatorPackets u
299 responderPackets u | 300 observationDomainName str | 301 selectionSequenceId u | 302 selectorId u
303 informationElementId u | 304 selectorAlgorithm u | 305 samplingPacketInterval u | 306 samplingPacketSpace u
307 samplingTimeInterval u | 308 samplingTimeSpace u | 309 samplingSize u | 310 samplingPopulation u
311 samplingProbability f | 312 dataLinkFrameSize u | 313 ipHeaderPacketSection oct
314 ipPayloadPacketSection oct | 315 dataLinkFrameSection oct | 316 mplsLabelStackSection oct
317 mplsPayloadPacketSection oct | 318 selectorIdTotalPktsObserved u | 319 selectorIdTotalPktsSelected u
320 absoluteError f | 321 relativeError f | 322 observationTimeSeconds ds | 323 observationTimeMilliseconds dms
324 observationTimeMicroseconds dus | 325 observationTimeNanoseconds dns | 326 digestHashValue u
327 hashIPPayloadOffset u | 328 hashIPPayloadSize u | 329 hashOutputRangeMin u | 330 hashOutputRangeMax u
331 hashSelectedRangeMin u | 332 hashSelectedRangeMax u | 333 hashDigestOutput bool | 334 hashInitialiserValue u
335 selectorName str | 336 upperCILimit f | 337 lowerCILimit f | 338 confidenceLevel f
339 informationElementDataType u | 340 informationElementDescription str | 341 informationElementName str
342 informationElementRangeBegin u | 343 informationElementRangeEnd u | 344 informationElementSemantics u
345 informationElementUnits u | 346 privateEnterpriseNumber u | 347 virtualStationInterfaceId oct
348 virtualStationInterfaceName str | 349 virtualStationUUID oct | 350 virtualStationName str
351 layer2SegmentId u | 352 layer2OctetDeltaCount u | 353 layer2OctetTotalCount u
354 ingressUnicastPacketTotalCount u | 355 ingressMulticastPacketTotalCount u
356 ingressBroadcastPacketTotalCount u | 357 egressUnicastPacketTotalCount u
358 egressBroadcastPacketTotalCount u | 359 monitoringIntervalStartMilliSeconds dms
360 monitoringIntervalEndMilliSeconds dms | 361 portRangeStart u | 362 portRangeEnd u | 363 portRangeStepSize u
364 portRangeNumPorts u | 365 staMacAddress mac | 366 staIPv4Address ip4 | 367 wtpMacAddress mac
368 ingressInterfaceType u | 369 egressInterfaceType u | 370 rtpSequenceNumber u | 371 userName str
372 applicationCategoryName str | 373 applicationSubCategoryName str | 374 applicationGroupName str
375 originalFlowsPresent u | 376 originalFlowsInitiated u | 377 originalFlowsCompleted u
378 distinctCountOfSourceIPAddress u | 379 distinctCountOfDestinationIPAddress u
380 distinctCountOfSourceIPv4Address u | 381 distinctCountOfDestinationIPv4Address u
382 distinctCountOfSourceIPv6Address u | 383 distinctCountOfDestinationIPv6Address u
384 valueDistributionMethod u | 385 rfc3550JitterMilliseconds u | 386 rfc3550JitterMicroseconds u
387 rfc3550JitterNanoseconds u | 388 dot1qDEI bool | 389 dot1qCustomerDEI bool | 390 flowSelectorAlgorithm u
391 flowSelectedOctetDeltaCount u | 392 flowSelectedPacketDeltaCount u | 393 flowSelectedFlowDeltaCount u
394 selectorIDTotalFlowsObserved u | 395 selectorIDTotalFlowsSelected u | 396 samplingFlowInterval u
397 samplingFlowSpacing u | 398 flowSamplingTimeInterval u | 399 flowSamplingTimeSpacing u
400 hashFlowDomain u | 401 transportOctetDeltaCount u | 402 transportPacketDeltaCount u
403 originalExporterIPv4Address ip4 | 404 originalExporterIPv6Address ip6 | 405 originalObservationDomainId u
406 intermediateProcessId u | 407 ignoredDataRecordTotalCount u | 408 dataLinkFrameType u | 409 sectionOffset u
410 sectionExportedOctets u | 411 dot1qServiceInstanceTag oct | 412 dot1qServiceInstanceId u
413 dot1qServiceInstancePriority u | 414 dot1qCustomerSourceMacAddress mac
415 dot1qCustomerDestinationMacAddress mac | 417 postLayer2OctetDeltaCount u
418 postMCastLayer2OctetDeltaCount u | 420 postLayer2OctetTotalCount u | 421 postMCastLayer2OctetTotalCount u
422 minimumLayer2TotalLength u | 423 maximumLayer2TotalLength u | 424 droppedLayer2OctetDeltaCount u
425 droppedLayer2OctetTotalCount u | 426 ignoredLayer2OctetTotalCount u | 427 notSentLayer2OctetTotalCount u
428 layer2OctetDeltaSumOfSquares u | 429 layer2OctetTotalSumOfSquares u | 430 layer2FrameDeltaCount u
431 layer2FrameTotalCount u | 432 pseudoWireDestinationIPv4Address ip4 | 433 ignoredLayer2FrameTotalCount u
434 mibObjectValueInteger s | 435 mibObjectValueOctetString oct | 436 mibObjectValueOID oct
437 mibObjectValueBits oct | 438 mibObjectValueIPAddress ip4 | 439 mibObjectValueCounter u
440 mibObjectValueGauge u | 441 mibObjectValueTimeTicks u | 442 mibObjectValueUnsigned u
443 mibObjectValueTable list | 444 mibObjectValueRow list | 445 mibObjectIdentifier oct | 446 mibSubIdentifier u
447 mibIndexIndicator u | 448 mibCaptureTimeSemantics u | 449 mibContextEngineID oct | 450 mibContextName str
451 mibObjectName str | 452 mibObjectDescription str | 453 mibObjectSyntax str | 454 mibModuleName str
455 mobileIMSI str | 456 mobileMSISDN str | 457 httpStatusCode u | 458 sourceTransportPortsLimit u
459 httpRequestMethod str | 460 httpRequestHost str | 461 httpRequestTarget str | 462 httpMessageVersion str
463 natInstanceID u | 464 internalAddressRealm oct | 465 externalAddressRealm oct | 466 natQuotaExceededEvent u
467 natThresholdEvent u | 468 httpUserAgent str | 469 httpContentType str | 470 httpReasonPhrase str
471 maxSessionEntries u | 472 maxBIBEntries u | 473 maxEntriesPerUser u | 474 maxSubscribers u
475 maxFragmentsPendingReassembly u | 476 addressPoolHighThreshold u | 477 addressPoolLowThreshold u
478 addressPortMappingHighThreshold u | 479 addressPortMappingLowThreshold u
480 addressPortMappingPerUserHighThreshold u | 481 globalAddressMappingHighThreshold u | 482 vpnIdentifier oct`;

const KINDS: Record<string, Kind> = {
  u: Kind.Unsigned, s: Kind.Signed, f: Kind.Float, bool: Kind.Boolean, mac: Kind.Mac, oct: Kind.Octets, str: Kind.String,
  ds: Kind.Seconds, dms: Kind.Milliseconds, dus: Kind.Microseconds, dns: Kind.Nanoseconds, ip4: Kind.Ipv4, ip6: Kind.Ipv6, list: Kind.Skip,
};

/** Kind of each element number (Kind.Skip for numbers not in the registry). */
export const elementKind = new Uint8Array(65536);
/** snake_case name of each element number ('' for numbers not in the registry). */
export const elementName: string[] = new Array<string>(65536).fill('');

for (const entry of REGISTRY.split(/[|\n]/)) {
  const [id, name, type] = entry.trim().split(' ');
  if (id === undefined || id === '' || name === undefined || type === undefined) continue;
  const kind = KINDS[type];
  if (kind === undefined) throw new Error(`netflow element registry: unknown type ${type} for ${name}`);
  elementKind[Number(id)] = kind;
  elementName[Number(id)] = snakeCase(name);
}

/**
 * IANA's camelCase names in snake_case, as ECS and the Elastic NetFlow fields spell them:
 * sourceIPv4Address → source_ipv4_address, minimumTTL → minimum_ttl.
 */
export function snakeCase(name: string): string {
  const n = name.replace(/IPv([46])/g, 'Ipv$1').replace('MCast', 'Mcast').replace('VRFname', 'VrfName').replace('IPSec', 'Ipsec');
  let out = '';
  for (let i = 0; i < n.length; i++) {
    const c = n.charCodeAt(i);
    const upper = c >= 0x41 && c <= 0x5a;
    if (upper && i > 0) {
      const previous = n.charCodeAt(i - 1);
      const next = n.charCodeAt(i + 1);
      const previousLowerOrDigit = (previous >= 0x61 && previous <= 0x7a) || (previous >= 0x30 && previous <= 0x39);
      const previousUpper = previous >= 0x41 && previous <= 0x5a;
      const nextLower = next >= 0x61 && next <= 0x7a;
      if (previousLowerOrDigit || (previousUpper && nextLower)) out += '_';
    }
    out += n[i]?.toLowerCase() ?? '';
  }
  return out;
}
