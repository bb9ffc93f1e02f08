/**
 * Country and continent names for databases that store only an ISO country code (the
 * ip-location-db / DB-IP lite layout). Continents follow GeoNames, as MaxMind's data does.
 */

const CONTINENT_MEMBERS: Record<string, string> = {
  AF: 'AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW',
  AN: 'AQ BV GS HM TF',
  AS: 'AE AF AM AZ BD BH BN BT CC CN CX GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW KZ LA LB LK MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TM TR TW UZ VN YE',
  EU: 'AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK',
  NA: 'AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC MF MQ MS MX NI PA PM PR SV SX TC TT US VC VG VI',
  OC: 'AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TL TO TV UM VU WF WS',
  SA: 'AR BO BR CL CO EC FK GF GY PE PY SR UY VE',
};

export const CONTINENT_NAMES: Readonly<Record<string, string>> = {
  AF: 'Africa',
  AN: 'Antarctica',
  AS: 'Asia',
  EU: 'Europe',
  NA: 'North America',
  OC: 'Oceania',
  SA: 'South America',
};

const continentOfCountry = new Map<string, string>();
for (const [continent, members] of Object.entries(CONTINENT_MEMBERS)) {
  for (const country of members.split(' ')) continentOfCountry.set(country, continent);
}

export function continentOf(countryCode: string): string | undefined {
  return continentOfCountry.get(countryCode);
}

/** Where the CLDR English name differs from the one MaxMind's English data uses. */
const NAME_OVERRIDES: Record<string, string> = {
  CD: 'DR Congo',
  CG: 'Congo Republic',
  HK: 'Hong Kong',
  MM: 'Myanmar',
  MO: 'Macao',
  PS: 'Palestine',
};

let displayNames: Intl.DisplayNames | undefined;
const names = new Map<string, string | undefined>();

/** English short name, from ICU; undefined on a Node build without region names. */
export function countryName(countryCode: string): string | undefined {
  if (names.has(countryCode)) return names.get(countryCode);
  let name = NAME_OVERRIDES[countryCode];
  if (name === undefined) {
    try {
      displayNames ??= new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
      name = displayNames.of(countryCode)?.replaceAll(' & ', ' and ');
    } catch {
      name = undefined;
    }
  }
  names.set(countryCode, name);
  return name;
}

/** Two uppercase letters that name a country; DB-IP's ZZ and the legacy EU/AP/XX are not countries. */
export function isCountryCode(code: unknown): code is string {
  return (
    typeof code === 'string' &&
    /^[A-Z]{2}$/.test(code) &&
    code !== 'ZZ' &&
    code !== 'XX' &&
    code !== 'EU' &&
    code !== 'AP'
  );
}
