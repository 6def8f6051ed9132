//! The values of the schema's enums and their French labels: the one
//! source of these words for the feeds and, through the wasm client, the
//! app's screens ([`libelles`]).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::rythme::EtatOccurrence;

macro_rules! french_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $libelle:literal),+ $(,)? } default $default:ident) => {
        $(#[$doc])*
        ///
        /// Values are the domain model's vocabulary (§5), in `snake_case`;
        /// [`Self::libelle`] is the French word shown for each.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
        #[serde(rename_all = "snake_case")]
        #[allow(missing_docs)] // Each variant is a word of the domain model.
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in the order screens list them.
            pub const TOUS: &'static [$name] = &[$($name::$variant),+];

            /// The French label of this value, as every screen and feed
            /// shows it.
            pub fn libelle(self) -> &'static str {
                match self {
                    $($name::$variant => $libelle,)+
                }
            }
        }

        impl Default for $name {
            fn default() -> $name {
                $name::$default
            }
        }
    };
}

french_enum!(
    /// Kind of territory.
    TypeTerritoire {
        Commune = "Commune",
        CommuneNouvelle = "Commune nouvelle",
        IntercommunaliteEpci = "Intercommunalité (EPCI)",
        PaysPetr = "Pays ou PETR",
        ParcNaturelRegional = "Parc naturel régional",
        Quartier = "Quartier",
        BassinDeVie = "Bassin de vie",
        Departement = "Département",
        Autre = "Autre",
    } default Commune
);
french_enum!(
    /// Who may see a territory in national views.
    VisibiliteTerritoire {
        Public = "Public\u{a0}: visible de tous",
        Reseau = "Réseau\u{a0}: visible des territoires partenaires",
        Prive = "Privé\u{a0}: visible des seuls membres",
    } default Prive
);
french_enum!(
    /// Themes ("portes d'entrée"), domain model §5.6.
    Theme {
        EconomieLocale = "Économie locale",
        AlimentationAgriculture = "Alimentation et agriculture",
        GouvernanceDemocratie = "Gouvernance et démocratie",
        EnvironnementBiodiversiteEau = "Environnement, biodiversité et eau",
        HabitatUrbanisme = "Habitat et urbanisme",
        Energie = "Énergie",
        Mobilite = "Mobilité",
        DechetsReemploi = "Déchets et réemploi",
        SolidaritesInclusion = "Solidarités et inclusion",
        CultureEducationLienSocial = "Culture, éducation et lien social",
        SanteBienEtre = "Santé et bien-être",
        NumeriqueCommuns = "Numérique et communs",
    } default GouvernanceDemocratie
);
french_enum!(
    /// National networks.
    Reseau {
        Colibris = "Colibris",
        DemocratieOuverte = "Démocratie ouverte",
        CtcPacteTransition = "Collectif pour une transition citoyenne (Pacte pour la transition)",
        FabriqueDesTransitions = "Fabrique des transitions",
        Transiscope = "Transiscope",
        MouvementSol = "Mouvement Sol",
        ReseauRessourceries = "Réseau des ressourceries",
        Emmaus = "Emmaüs",
        HameauxLegers = "Hameaux légers",
        Avise = "Avise",
        Autre = "Autre réseau",
    } default Autre
);
french_enum!(
    /// A network's role with the territory.
    RoleReseau {
        Accompagnement = "Accompagnement",
        Labellisation = "Labellisation",
        Financement = "Financement",
        Formation = "Formation",
        MiseEnReseau = "Mise en réseau",
    } default Accompagnement
);
french_enum!(
    /// Nature of an action.
    Nature {
        RendezVousPonctuel = "Rendez-vous ponctuel",
        RendezVousRecurrent = "Rendez-vous régulier",
        ChantierProjet = "Chantier ou projet",
        Permanence = "Permanence",
        FormationAtelier = "Formation ou atelier",
        TempsDeConcertation = "Temps de concertation",
        ActionContinue = "Action continue",
    } default RendezVousPonctuel
);
french_enum!(
    /// Phase of an action (Territoires en Transitions / beta.gouv).
    PhaseAction {
        Idee = "Idée",
        Preparation = "Préparation",
        MiseEnOeuvre = "Mise en œuvre",
        Perennisee = "Pérennisée",
    } default Idee
);
french_enum!(
    /// Status of an action.
    Statut {
        AVenir = "À venir",
        EnCours = "En cours",
        EnRetard = "En retard",
        EnPause = "En pause",
        Bloquee = "Bloquée",
        Realisee = "Réalisée",
        Abandonnee = "Abandonnée",
    } default AVenir
);
french_enum!(
    /// Priority.
    Priorite { Haute = "Haute", Moyenne = "Moyenne", Basse = "Basse" } default Moyenne
);
french_enum!(
    /// On site, online or both.
    ModeParticipation { SurPlace = "Sur place", EnLigne = "En ligne", Mixte = "Sur place et en ligne" } default SurPlace
);
french_enum!(
    /// Role of a carrier.
    RolePorteur {
        Pilote = "Pilote",
        Copilote = "Copilote",
        ReferentElu = "Référent élu",
        ReferentTechnique = "Référent technique",
        Partenaire = "Partenaire",
        Financeur = "Financeur",
        BenevoleReferent = "Bénévole référent",
    } default Pilote
);
french_enum!(
    /// Kind of need.
    TypeBesoin {
        Benevoles = "Bénévoles",
        Competence = "Compétence",
        Materiel = "Matériel",
        Lieu = "Lieu",
        Financement = "Financement",
        ExpertiseMethodologique = "Expertise méthodologique",
        Communication = "Communication",
        Transport = "Transport",
    } default Benevoles
);
french_enum!(
    /// State of a need (lower case: it follows the need in a sentence).
    StatutBesoin {
        Ouvert = "ouvert",
        PartiellementPourvu = "partiellement pourvu",
        Pourvu = "pourvu",
        Clos = "clos",
    } default Ouvert
);
french_enum!(
    /// Audiences.
    Public {
        ToutPublic = "Tout public",
        Enfants = "Enfants",
        Jeunes = "Jeunes",
        Familles = "Familles",
        Seniors = "Seniors",
        Scolaires = "Scolaires",
        Associations = "Associations",
        ActeursEconomiques = "Acteurs économiques",
        Elus = "Élus",
        Agents = "Agents",
    } default ToutPublic
);
french_enum!(
    /// Who sees an action.
    Visibilite {
        Public = "Tout le monde",
        Membres = "Les membres du territoire",
        Prive = "Les organisateurs",
    } default Public
);
french_enum!(
    /// Publication workflow (OpenAgenda style).
    Publication {
        Brouillon = "Brouillon (pas dans l'agenda public)",
        AModerer = "À relire",
        Publie = "Publiée",
        Refuse = "Refusée",
    } default Brouillon
);
french_enum!(
    /// Category of actor.
    Categorie {
        Habitant = "Habitant",
        Elu = "Élu",
        AgentCollectivite = "Agent de collectivité",
        RepresentantEtat = "Représentant de l'État",
        Association = "Association",
        EntrepriseEss = "Entreprise de l'ESS",
        Entreprise = "Entreprise",
        ProfessionnelIndependant = "Professionnel indépendant",
        InstitutionPublique = "Institution publique",
        CollectifInformel = "Collectif informel",
        ReseauNational = "Réseau national",
        Chercheur = "Chercheur",
        Autre = "Autre",
    } default Habitant
);
french_enum!(
    /// The *4 Fantastiques* of the Fabrique des transitions.
    Famille4F {
        Elu = "Élus",
        AgentTerritorial = "Agents territoriaux",
        Etat = "État",
        SocioEconomique = "Acteurs socio-économiques",
    } default Elu
);
french_enum!(
    /// Status of a roadmap phase (lower case: it follows the phase in a
    /// sentence).
    StatutPhase { AVenir = "à venir", EnCours = "en cours", Realisee = "réalisée", Abandonnee = "abandonnée" } default AVenir
);
french_enum!(
    /// Kind of governance body.
    TypeInstance {
        ComitePilotage = "Comité de pilotage",
        AssembleeCitoyenne = "Assemblée citoyenne",
        ConseilMunicipal = "Conseil municipal",
        CommissionExtraMunicipale = "Commission extra-municipale",
        GroupeDeTravail = "Groupe de travail",
        Cercle = "Cercle",
        Autre = "Instance de gouvernance",
    } default ComitePilotage
);
french_enum!(
    /// Decision process.
    Processus {
        Consentement = "Consentement",
        Consensus = "Consensus",
        VoteMajoritaire = "Vote majoritaire",
        Sondage = "Sondage",
        JugementMajoritaire = "Jugement majoritaire",
        AvisSollicite = "Avis sollicité",
        DeliberationInstitutionnelle = "Délibération institutionnelle",
        Autre = "Autre",
    } default Consentement
);
french_enum!(
    /// State of a decision.
    StatutDecision {
        Brouillon = "Brouillon",
        Ouverte = "Ouverte",
        Close = "Close",
        Actee = "Actée",
        ARevoir = "À revoir",
        Abandonnee = "Abandonnée",
    } default Brouillon
);

french_enum!(
    /// Where an experience sheet is in its workflow (`fiche.rs`).
    StatutFiche {
        /// Being written.
        Brouillon = "Brouillon",
        /// Its current content was reviewed by an organiser other than its
        /// last author: it can be published.
        Relue = "Relue",
        /// Published for the territory (residents and the public read it).
        PublieeTerritoire = "Publiée pour le territoire",
        /// Published, and admitted by a national coordinator on the
        /// national list (the relay knows it; the document never says it).
        PublieeNationale = "Publiée nationalement",
        /// Withdrawn: its pages answer 410 with the reason.
        Retiree = "Retirée",
    } default Brouillon
);

/// The labels of one enum, for a client that shows them (the wasm client
/// hands them to the app, keyed by `champ`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibellesDe {
    /// The key of this enum in the client's table (`theme`, `statut`…).
    pub champ: &'static str,
    /// The enum's name, as in the TypeScript declarations.
    pub type_ts: &'static str,
    /// Each value as serialised (`economie_locale`), with its label, in the
    /// order screens list them.
    pub valeurs: Vec<(String, &'static str)>,
}

macro_rules! libelles {
    ($($champ:ident: $enum:ident),+ $(,)?) => {
        /// The labels of every enum the screens show: the one source of
        /// these words for the app (through the wasm client) and the feeds.
        pub fn libelles() -> Vec<LibellesDe> {
            vec![$(LibellesDe {
                champ: stringify!($champ),
                type_ts: stringify!($enum),
                valeurs: $enum::TOUS.iter().map(|v| (valeur_json(v), v.libelle())).collect(),
            }),+]
        }
    };
}

libelles!(
    type_territoire: TypeTerritoire,
    visibilite_territoire: VisibiliteTerritoire,
    theme: Theme,
    reseau: Reseau,
    role_reseau: RoleReseau,
    nature: Nature,
    phase_action: PhaseAction,
    statut: Statut,
    priorite: Priorite,
    mode_participation: ModeParticipation,
    role_porteur: RolePorteur,
    type_besoin: TypeBesoin,
    statut_besoin: StatutBesoin,
    public: Public,
    visibilite: Visibilite,
    publication: Publication,
    categorie: Categorie,
    famille_4f: Famille4F,
    statut_phase: StatutPhase,
    type_instance: TypeInstance,
    processus: Processus,
    statut_decision: StatutDecision,
    etat_occurrence: EtatOccurrence,
);

/// An enum value as its JSON text (`"economie_locale"`), unquoted.
pub(crate) fn valeur_json<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

impl Nature {
    /// The nature a rhythm implies: `Some(true)` for a rhythm with a
    /// recurrence rule (a recurring rendez-vous), `Some(false)` for a
    /// one-off, `None` for no rhythm (a chantier without rendez-vous).
    /// Edits use it when they do not say.
    pub fn du_rythme(recurrent: Option<bool>) -> Nature {
        match recurrent {
            Some(true) => Nature::RendezVousRecurrent,
            Some(false) => Nature::RendezVousPonctuel,
            None => Nature::ChantierProjet,
        }
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn every_enum_value_has_a_label() {
        for enumeration in libelles() {
            for (valeur, libelle) in &enumeration.valeurs {
                assert!(!valeur.is_empty() && !libelle.is_empty(), "{}: {valeur:?}", enumeration.champ);
            }
        }
        let themes: Vec<String> = Theme::TOUS.iter().map(|t| format!("{}: {}", valeur_json(t), t.libelle())).collect();
        expect![[r#"
            economie_locale: Économie locale
            alimentation_agriculture: Alimentation et agriculture
            gouvernance_democratie: Gouvernance et démocratie
            environnement_biodiversite_eau: Environnement, biodiversité et eau
            habitat_urbanisme: Habitat et urbanisme
            energie: Énergie
            mobilite: Mobilité
            dechets_reemploi: Déchets et réemploi
            solidarites_inclusion: Solidarités et inclusion
            culture_education_lien_social: Culture, éducation et lien social
            sante_bien_etre: Santé et bien-être
            numerique_communs: Numérique et communs"#]]
        .assert_eq(&themes.join("\n"));
    }
}
