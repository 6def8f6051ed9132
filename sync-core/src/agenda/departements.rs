//! The départements and overseas collectivities of France, by code, and
//! the one a commune's INSEE code belongs to: `2A`/`2B` for Corsica, the
//! first three characters overseas (`971` to `988`), the first two
//! elsewhere. The names are the official ones; one table for the directory,
//! its filters and its map, on the relay and in the app.
//!
//! Does not: know whether a commune exists (the code's shape is checked by
//! [`crate::agenda::code_insee_valide`]).

/// A département or an overseas collectivity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Departement {
    /// Its code: `01` to `95`, `2A`, `2B`, `971` to `988`.
    pub code: &'static str,
    /// Its name.
    pub nom: &'static str,
}

const fn d(code: &'static str, nom: &'static str) -> Departement {
    Departement { code, nom }
}

/// Every département, metropolitan then overseas, in code order (Corsica
/// where 20 would be).
pub const DEPARTEMENTS: &[Departement] = &[
    d("01", "Ain"),
    d("02", "Aisne"),
    d("03", "Allier"),
    d("04", "Alpes-de-Haute-Provence"),
    d("05", "Hautes-Alpes"),
    d("06", "Alpes-Maritimes"),
    d("07", "Ardèche"),
    d("08", "Ardennes"),
    d("09", "Ariège"),
    d("10", "Aube"),
    d("11", "Aude"),
    d("12", "Aveyron"),
    d("13", "Bouches-du-Rhône"),
    d("14", "Calvados"),
    d("15", "Cantal"),
    d("16", "Charente"),
    d("17", "Charente-Maritime"),
    d("18", "Cher"),
    d("19", "Corrèze"),
    d("2A", "Corse-du-Sud"),
    d("2B", "Haute-Corse"),
    d("21", "Côte-d'Or"),
    d("22", "Côtes-d'Armor"),
    d("23", "Creuse"),
    d("24", "Dordogne"),
    d("25", "Doubs"),
    d("26", "Drôme"),
    d("27", "Eure"),
    d("28", "Eure-et-Loir"),
    d("29", "Finistère"),
    d("30", "Gard"),
    d("31", "Haute-Garonne"),
    d("32", "Gers"),
    d("33", "Gironde"),
    d("34", "Hérault"),
    d("35", "Ille-et-Vilaine"),
    d("36", "Indre"),
    d("37", "Indre-et-Loire"),
    d("38", "Isère"),
    d("39", "Jura"),
    d("40", "Landes"),
    d("41", "Loir-et-Cher"),
    d("42", "Loire"),
    d("43", "Haute-Loire"),
    d("44", "Loire-Atlantique"),
    d("45", "Loiret"),
    d("46", "Lot"),
    d("47", "Lot-et-Garonne"),
    d("48", "Lozère"),
    d("49", "Maine-et-Loire"),
    d("50", "Manche"),
    d("51", "Marne"),
    d("52", "Haute-Marne"),
    d("53", "Mayenne"),
    d("54", "Meurthe-et-Moselle"),
    d("55", "Meuse"),
    d("56", "Morbihan"),
    d("57", "Moselle"),
    d("58", "Nièvre"),
    d("59", "Nord"),
    d("60", "Oise"),
    d("61", "Orne"),
    d("62", "Pas-de-Calais"),
    d("63", "Puy-de-Dôme"),
    d("64", "Pyrénées-Atlantiques"),
    d("65", "Hautes-Pyrénées"),
    d("66", "Pyrénées-Orientales"),
    d("67", "Bas-Rhin"),
    d("68", "Haut-Rhin"),
    d("69", "Rhône"),
    d("70", "Haute-Saône"),
    d("71", "Saône-et-Loire"),
    d("72", "Sarthe"),
    d("73", "Savoie"),
    d("74", "Haute-Savoie"),
    d("75", "Paris"),
    d("76", "Seine-Maritime"),
    d("77", "Seine-et-Marne"),
    d("78", "Yvelines"),
    d("79", "Deux-Sèvres"),
    d("80", "Somme"),
    d("81", "Tarn"),
    d("82", "Tarn-et-Garonne"),
    d("83", "Var"),
    d("84", "Vaucluse"),
    d("85", "Vendée"),
    d("86", "Vienne"),
    d("87", "Haute-Vienne"),
    d("88", "Vosges"),
    d("89", "Yonne"),
    d("90", "Territoire de Belfort"),
    d("91", "Essonne"),
    d("92", "Hauts-de-Seine"),
    d("93", "Seine-Saint-Denis"),
    d("94", "Val-de-Marne"),
    d("95", "Val-d'Oise"),
    d("971", "Guadeloupe"),
    d("972", "Martinique"),
    d("973", "Guyane"),
    d("974", "La Réunion"),
    d("975", "Saint-Pierre-et-Miquelon"),
    d("976", "Mayotte"),
    d("977", "Saint-Barthélemy"),
    d("978", "Saint-Martin"),
    d("984", "Terres australes et antarctiques françaises"),
    d("986", "Wallis-et-Futuna"),
    d("987", "Polynésie française"),
    d("988", "Nouvelle-Calédonie"),
];

/// The département of code `code` (`44`, `2A`, `974`).
pub fn departement(code: &str) -> Option<&'static Departement> {
    DEPARTEMENTS.iter().find(|d| d.code == code)
}

/// The département of the commune whose INSEE code is `insee`, if the code
/// names one of [`DEPARTEMENTS`].
pub fn departement_de_commune(insee: &str) -> Option<&'static Departement> {
    let longueur = if insee.starts_with("97") || insee.starts_with("98") { 3 } else { 2 };
    departement(insee.get(..longueur)?)
}

/// The départements of communes `insee`, in table order, each once.
pub fn departements_des_communes(insee: &[String]) -> Vec<&'static Departement> {
    DEPARTEMENTS.iter().filter(|d| insee.iter().any(|c| departement_de_commune(c) == Some(*d))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn communes_fall_in_their_departement() {
        let cas = [
            ("44109", Some("Loire-Atlantique")),
            ("2A004", Some("Corse-du-Sud")),
            ("2B033", Some("Haute-Corse")),
            ("97411", Some("La Réunion")),
            ("97302", Some("Guyane")),
            ("98818", Some("Nouvelle-Calédonie")),
            ("01001", Some("Ain")),
            ("20004", None),
            ("96001", None),
            ("", None),
            ("é", None),
        ];
        for (insee, nom) in cas {
            assert_eq!(departement_de_commune(insee).map(|d| d.nom), nom, "{insee}");
        }
    }

    #[test]
    fn the_table_has_each_code_once_in_order() {
        assert_eq!(DEPARTEMENTS.len(), 96 + 12);
        let codes: Vec<&str> = DEPARTEMENTS.iter().map(|d| d.code).collect();
        let mut uniques = codes.clone();
        uniques.dedup();
        assert_eq!(uniques, codes);
        for d in DEPARTEMENTS {
            assert!(!d.nom.is_empty() && (d.code.len() == 2 || d.code.len() == 3), "{d:?}");
        }
    }
}
