//! The communes of France (real INSEE data, `data/geo/`), compiled in.

use crate::ids::InseeCode;

/// Where the data comes from, shown to users next to populations.
pub const SOURCE: &str = "INSEE, population municipale millésime 2023 (populations légales en vigueur au 1er janvier 2026), \
     COG via @etalab/decoupage-administratif 6.0.0";

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Commune,
    /// Arrondissement municipal of Paris, Lyon or Marseille.
    Arrondissement,
}

#[derive(Clone, Debug)]
pub struct Commune {
    pub code: InseeCode,
    pub name: String,
    pub kind: Kind,
    /// For an arrondissement, its city.
    pub parent: Option<InseeCode>,
    pub departement: String,
    pub region: String,
    pub population: Option<u64>,
}

/// The geographic reference: communes sorted by code, départements, régions.
#[derive(Clone, Debug)]
pub struct Geo {
    communes: Vec<Commune>,
    /// For Paris, Lyon and Marseille: the indexes of their arrondissements.
    children: std::collections::BTreeMap<InseeCode, Vec<usize>>,
    departements: Vec<(String, String, String)>,
    regions: Vec<(String, String)>,
    /// Folded name → indexes of the communes, built on the first lookup by name: folding every
    /// name on each lookup made 1 000 member rows given by commune name take 90 s (fuzzing).
    names: std::sync::OnceLock<std::collections::BTreeMap<String, Vec<usize>>>,
}

/// Lower-case, accents and punctuation folded, for matching names as people type them.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ÿ' => 'y',
            '-' | '\'' | '’' => ' ',
            c => c,
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `c` is called `folded` (a folded name): its INSEE name, or for an arrondissement
/// the name without « Arrondissement » (« Paris 18e »).
/// The folded names a commune is found under: its name, and for an arrondissement its short
/// name too (« paris 18e »), as lists print it.
fn folded_names(c: &Commune) -> Vec<String> {
    let n = fold(&c.name);
    let short = (c.kind == Kind::Arrondissement).then(|| n.strip_suffix(" arrondissement").map(str::to_string));
    std::iter::once(n).chain(short.flatten()).collect()
}

fn named(c: &Commune, folded: &str) -> bool {
    folded_names(c).iter().any(|n| n == folded)
}

fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines().skip(1).filter(|l| !l.is_empty()).map(|l| l.split(';').collect())
}

impl Geo {
    /// The data shipped in `data/geo/`.
    pub fn builtin() -> Result<Geo, String> {
        Geo::parse(
            include_str!("../../../data/geo/communes.csv"),
            include_str!("../../../data/geo/departements.csv"),
            include_str!("../../../data/geo/regions.csv"),
        )
    }

    pub fn parse(communes: &str, departements: &str, regions: &str) -> Result<Geo, String> {
        let mut out = Vec::new();
        for (i, r) in rows(communes).enumerate() {
            let [code, name, kind, parent, dep, reg, pop] = r.as_slice() else {
                return Err(format!("communes.csv ligne {} : 7 colonnes attendues", i + 2));
            };
            let bad = |what: &str| format!("communes.csv ligne {} : {what}", i + 2);
            out.push(Commune {
                code: code.parse().map_err(|e: String| bad(&e))?,
                name: (*name).to_string(),
                kind: match *kind {
                    "commune" => Kind::Commune,
                    "arrondissement" => Kind::Arrondissement,
                    _ => return Err(bad("type inconnu")),
                },
                parent: if parent.is_empty() { None } else { Some(parent.parse().map_err(|e: String| bad(&e))?) },
                departement: (*dep).to_string(),
                region: (*reg).to_string(),
                population: if pop.is_empty() { None } else { Some(pop.parse().map_err(|_| bad("population"))?) },
            });
        }
        out.sort_by(|a, b| a.code.cmp(&b.code));
        let mut children: std::collections::BTreeMap<InseeCode, Vec<usize>> = std::collections::BTreeMap::new();
        for (i, c) in out.iter().enumerate() {
            if let Some(p) = &c.parent {
                children.entry(p.clone()).or_default().push(i);
            }
        }
        let departements = rows(departements)
            .filter_map(|r| match r.as_slice() {
                [c, n, reg] => Some(((*c).to_string(), (*n).to_string(), (*reg).to_string())),
                _ => None,
            })
            .collect();
        let regions = rows(regions)
            .filter_map(|r| match r.as_slice() {
                [c, n] => Some(((*c).to_string(), (*n).to_string())),
                _ => None,
            })
            .collect();
        Ok(Geo { communes: out, children, departements, regions, names: std::sync::OnceLock::new() })
    }

    pub fn len(&self) -> usize {
        self.communes.len()
    }

    /// Every commune and arrondissement, by code.
    pub fn communes(&self) -> &[Commune] {
        &self.communes
    }

    pub fn is_empty(&self) -> bool {
        self.communes.is_empty()
    }

    pub fn commune(&self, code: &InseeCode) -> Option<&Commune> {
        self.communes.binary_search_by(|c| c.code.cmp(code)).ok().and_then(|i| self.communes.get(i))
    }

    /// Communes whose name matches (accents and case folded); several communes share names.
    /// An arrondissement is found by its short name too (« Paris 18e »), as lists print it.
    pub fn by_name(&self, name: &str) -> Vec<&Commune> {
        let names = self.names.get_or_init(|| {
            let mut index: std::collections::BTreeMap<String, Vec<usize>> = std::collections::BTreeMap::new();
            for (i, c) in self.communes.iter().enumerate() {
                for n in folded_names(c) {
                    index.entry(n).or_default().push(i);
                }
            }
            index
        });
        names.get(&fold(name)).map_or_else(Vec::new, |ix| ix.iter().filter_map(|i| self.communes.get(*i)).collect())
    }

    /// The arrondissements of a Paris/Lyon/Marseille city (empty for other communes).
    pub fn arrondissements(&self, city: &InseeCode) -> Vec<&Commune> {
        self.children.get(city).map_or_else(Vec::new, |ix| ix.iter().filter_map(|i| self.communes.get(*i)).collect())
    }

    /// Every département: (code, name, région code), by code.
    pub fn departements(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.departements.iter().map(|(c, n, r)| (c.as_str(), n.as_str(), r.as_str()))
    }

    pub fn departement_name(&self, code: &str) -> Option<&str> {
        self.departements.iter().find(|d| d.0 == code).map(|d| d.1.as_str())
    }

    pub fn region_name(&self, code: &str) -> Option<&str> {
        self.regions.iter().find(|r| r.0 == code).map(|r| r.1.as_str())
    }

    /// Resolve what a user typed: a code, or a unique name (« Nom (dép.) » disambiguates).
    pub fn resolve(&self, input: &str) -> Result<&Commune, String> {
        let input = input.trim();
        if let Ok(code) = input.parse::<InseeCode>() {
            return self.commune(&code).ok_or_else(|| format!("code INSEE inconnu : « {input} »"));
        }
        // « Code Nom », as `cpts show` lists a territory.
        if let Some((code, name)) = input.split_once(' ')
            && code.len() == 5
            && let Ok(code) = code.parse::<InseeCode>()
        {
            return self
                .commune(&code)
                .filter(|c| named(c, &fold(name)))
                .ok_or_else(|| format!("commune inconnue : « {input} »"));
        }
        let (name, dep) = match input.rsplit_once('(') {
            Some((n, d)) => (n.trim(), Some(d.trim_end_matches(')').trim())),
            None => (input, None),
        };
        // « Nom (code INSEE) », as cpts exports it.
        if let Some(code) = dep
            .and_then(|d| d.parse::<InseeCode>().ok())
            .filter(|c| c.as_str().len() == 5 && dep.is_some_and(|d| d.len() == 5))
        {
            return self
                .commune(&code)
                .filter(|c| named(c, &fold(name)))
                .ok_or_else(|| format!("commune inconnue : « {input} »"));
        }
        let found: Vec<&Commune> =
            self.by_name(name).into_iter().filter(|c| dep.is_none_or(|d| c.departement == d)).collect();
        match found.as_slice() {
            [one] => Ok(one),
            [] => Err(format!("commune inconnue : « {input} »")),
            many => Err(format!(
                "« {input} » désigne plusieurs communes : {} ; précisez le code INSEE ou le département, par exemple « {} ({}) »",
                many.iter()
                    .map(|c| format!("{} ({}, {})", c.name, c.code, c.departement))
                    .collect::<Vec<_>>()
                    .join(", "),
                name,
                many.first().map_or("", |c| c.departement.as_str())
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_data_loads_with_paris_arrondissements() {
        let g = Geo::builtin().unwrap();
        assert_eq!(g.len(), 35_014);
        let paris: InseeCode = "75056".parse().unwrap();
        let arr = g.arrondissements(&paris);
        assert_eq!(arr.len(), 20);
        let sum: u64 = arr.iter().filter_map(|c| c.population).sum();
        assert_eq!(Some(sum), g.commune(&paris).and_then(|c| c.population));
        assert_eq!(g.region_name("11"), Some("Île-de-France"));
        assert_eq!(g.resolve("paris 18e arrondissement").unwrap().code.as_str(), "75118");
        assert!(g.resolve("Saint-Denis").unwrap_err().contains("plusieurs communes"));
        assert_eq!(g.resolve("Saint-Denis (93)").unwrap().code.as_str(), "93066");
        assert_eq!(g.resolve("Paris 18e Arrondissement (75118)").unwrap().code.as_str(), "75118");
        assert!(g.resolve("Lyon (75118)").is_err());
        // The forms cpts prints: short names in lists, « Nom (code) », « code Nom ».
        for printed in
            ["Paris 18e", "paris 18E", "Paris 18e (75118)", "75118 Paris 18e Arrondissement", "75118 Paris 18e"]
        {
            assert_eq!(g.resolve(printed).map(|c| c.code.as_str().to_string()), Ok("75118".into()), "{printed}");
        }
        assert_eq!(g.resolve("Lyon 1er").unwrap().code.as_str(), "69381");
        assert!(g.resolve("75118 Lyon").is_err());
        // A commune is not found by a truncated name.
        assert!(g.resolve("Saint").is_err());
        assert!(g.resolve("99999").unwrap_err().contains("inconnu"));
    }

    #[test]
    fn names_are_looked_up_without_folding_every_commune() {
        // Found by fuzzing (members target): each lookup by name folded all 35 000 names, and a
        // member file of 1 000 rows given as « Saint-Denis (93) » took 90 s. 1 000 lookups now
        // take milliseconds, the index built once included.
        let g = Geo::builtin().unwrap();
        let started = std::time::Instant::now();
        for _ in 0..1_000 {
            assert_eq!(g.resolve("Saint-Denis (93)").unwrap().code.as_str(), "93066");
        }
        assert!(g.resolve("saint denis").unwrap_err().contains("plusieurs communes"));
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    }
}
