//! What a demonstration territory holds, as the edits an organiser would
//! make: actions across the entry doors, their rhythms relative to a
//! date (a daily action and a weekday one, so there is a rendez-vous that
//! day and several that week whatever it is), one occurrence cancelled,
//! one moved online, an exclusion and a summer pause; needs with
//! volunteers; drafts; the four families of actors with private contacts;
//! governance bodies with their rhythm, decisions and a roadmap.
//!
//! Deterministic: the same place, index and date give the same edits.
//! Nothing here writes: `mod.rs` applies the edits through the core.

use serde_json::{Value, json};
use sync_core::rythme::jiff::Span;
use sync_core::rythme::jiff::civil::{Date, Weekday};

use super::lieux::Modele;

/// Shown first in every presentation.
const AVERTISSEMENT: &str = "Territoire de démonstration d'Essaim\u{a0}: les personnes, les lieux et les rendez-vous \
     sont inventés. Explorez librement, rien de ce que vous voyez n'engage personne.";

/// The profile of the territory, as JSON (`Profil`).
pub(super) fn profil(m: &Modele) -> Value {
    json!({
        "nom": m.nom,
        "type": m.genre,
        "codes": { "insee": m.insee, "code_epci": m.code_epci },
        "fuseau": m.fuseau,
        "presentation": format!("{AVERTISSEMENT}\n\n{}", m.presentation),
        "portes_entree": ["alimentation_agriculture", "energie", "mobilite", "dechets_reemploi",
                          "solidarites_inclusion", "gouvernance_democratie"],
        "reseaux": [{ "reseau": "fabrique_des_transitions", "role": "accompagnement" }],
        "visibilite": "public",
        "demonstration": true,
    })
}

/// Dates relative to the day the demonstration is made for.
struct Calendrier<'a> {
    jour: Date,
    fuseau: &'a str,
}

impl Calendrier<'_> {
    fn plus(&self, jours: i64) -> Date {
        decaler(self.jour, jours)
    }

    /// The first `jour` on or after `date`.
    fn prochain(date: Date, jour: Weekday) -> Date {
        let ecart = (jour.to_monday_zero_offset() - date.weekday().to_monday_zero_offset()).rem_euclid(7);
        decaler(date, i64::from(ecart))
    }

    /// The `rang`-th `jour` (negative: from the end) of `date`'s month.
    fn du_mois(date: Date, rang: i8, jour: Weekday) -> Date {
        // Ranks 1 to 4 and -1 exist in every month.
        date.first_of_month().nth_weekday_of_month(rang, jour).unwrap_or(date)
    }

    /// A rhythm: first local start, duration, rule (or none), until a
    /// year after the day.
    fn rythme(&self, debut: Date, heure: i8, minute: i8, duree: &str, regle: Option<Value>) -> Value {
        let mut r = json!({ "debut": heure_locale(debut, heure, minute), "fuseau": self.fuseau, "duree": duree });
        if let Some(mut regle) = regle {
            if regle.get("nombre").is_none() {
                regle["jusqu_au"] = json!(self.plus(365).to_string());
            }
            r["regle"] = regle;
        }
        r
    }
}

fn decaler(date: Date, jours: i64) -> Date {
    // `--date` is bounded (mod.rs), so a year either side stays in range.
    date.checked_add(Span::new().days(jours)).unwrap_or(date)
}

fn heure_locale(date: Date, heure: i8, minute: i8) -> String {
    format!("{date}T{heure:02}:{minute:02}:00")
}

fn code(jour: Weekday) -> &'static str {
    match jour {
        Weekday::Monday => "MO",
        Weekday::Tuesday => "TU",
        Weekday::Wednesday => "WE",
        Weekday::Thursday => "TH",
        Weekday::Friday => "FR",
        Weekday::Saturday => "SA",
        Weekday::Sunday => "SU",
    }
}

/// Every edit of territory `index` (0-based) made from model `m` for the
/// day `jour`, as JSON `Edit`s, in the order an organiser would make them;
/// then the private contacts, as JSON `EditCarnet`s for the organisers'
/// notebook.
pub(super) fn edits(m: &Modele, index: usize, jour: Date) -> (Vec<Value>, Vec<Value>) {
    let c = Calendrier { jour, fuseau: &m.fuseau };
    let mut e = Vec::new();
    let lieu = |i: usize| {
        let l = &m.lieux[i];
        json!({ "libelle": l.libelle, "adresse": l.adresse, "code_insee": m.insee.first() })
    };
    let libelle = |i: usize| m.lieux[i].libelle.as_str();
    // Weekdays move with the index, so territories differ.
    let jour_semaine = |decalage: usize| {
        const JOURS: [Weekday; 5] =
            [Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday];
        JOURS[(index + decalage) % 5]
    };
    let depart = c.plus(-56);

    // The actors: the four families, their private contacts in the
    // organisers' notebook.
    let mut carnet = Vec::new();
    for (i, p) in m.personnes.iter().enumerate() {
        let id = format!("acteur-{}", i + 1);
        e.push(json!({ "type": "creer", "collection": "acteurs", "id": id, "valeur": {
            "nom": p.nom, "categorie": p.categorie, "roles": [p.role], "visible_publiquement": true } }));
        carnet
            .push(json!({ "type": "definir_contact", "acteur_id": id, "contact": { "email": p.email, "tel": p.tel } }));
    }

    let mut action = |id: &str, v: Value| {
        let mut valeur = json!({ "visibilite": "public", "publication": "publie", "publics": ["tout_public"] });
        if let (Some(valeur), Value::Object(v)) = (valeur.as_object_mut(), v) {
            valeur.extend(v);
        }
        e.push(json!({ "type": "creer", "collection": "actions", "id": id, "valeur": valeur }));
    };

    // Every day: the garden opens in the morning.
    action(
        "jardin-ouvert",
        json!({
            "titre": format!("{}\u{a0}: ouvert à tous", libelle(1)),
            "resume": "Le jardin est ouvert à toutes et tous chaque matin\u{a0}: arrosage, récolte, un café.",
            "nature": "rendez_vous_recurrent",
            "portes_entree": ["alimentation_agriculture", "culture_education_lien_social"],
            "lieu": lieu(1), "porteurs": [{ "acteur_id": "acteur-4", "role": "pilote" }],
            "rythme": c.rythme(depart, 9, 0, "PT3H", Some(json!({ "freq": "DAILY" }))),
        }),
    );
    // Every weekday: the morning car-pool to the bourg or the tram.
    action(
        "covoiturage",
        json!({
            "titre": "Covoiturage solidaire du matin",
            "resume": "Départ groupé pour le travail ou les courses\u{a0}; inscrivez-vous la veille.",
            "nature": "rendez_vous_recurrent", "portes_entree": ["mobilite", "solidarites_inclusion"],
            "lieu": lieu(4),
            "rythme": c.rythme(Calendrier::prochain(depart, Weekday::Monday), 7, 45, "PT30M",
                Some(json!({ "freq": "WEEKLY", "par_jour": ["MO", "TU", "WE", "TH", "FR"] }))),
        }),
    );
    // A weekly permanence, paused in summer, one week excluded.
    let jour_permanence = jour_semaine(1);
    let debut_permanence = Calendrier::prochain(depart, jour_permanence);
    let annee_pause = if (c.jour.month(), c.jour.day()) <= (8, 24) { c.jour.year() } else { c.jour.year() + 1 };
    let exclue = Calendrier::prochain(c.plus(15), jour_permanence);
    let mut permanence = c.rythme(
        debut_permanence,
        9,
        30,
        "PT2H30M",
        Some(json!({ "freq": "WEEKLY", "par_jour": [code(jour_permanence)] })),
    );
    permanence["exclusions"] = json!([heure_locale(exclue, 9, 30)]);
    action(
        "permanence",
        json!({
            "titre": "Permanence transition",
            "resume": "Une question sur l'énergie, les déchets, les aides\u{a0}? \
                       Les élus et l'agent de la mairie vous reçoivent.",
            "nature": "permanence", "portes_entree": ["energie", "gouvernance_democratie"],
            "lieu": lieu(0),
            "porteurs": [{ "acteur_id": "acteur-1", "role": "referent_elu" },
                         { "acteur_id": "acteur-2", "role": "referent_technique" }],
            "rythme": permanence,
        }),
    );
    // The repair café, first Saturday of the month.
    let debut_repair = Calendrier::du_mois(c.plus(-62), 1, Weekday::Saturday);
    action(
        "repair-cafe",
        json!({
            "titre": "Repair café",
            "resume": "Apportez ce qui est cassé\u{a0}: on répare ensemble, autour d'un café.",
            "description": "Petit électroménager, vêtements, vélos, informatique\u{a0}: \
                            des bénévoles vous aident à réparer. \
                            Gratuit, participation libre pour le café.",
            "nature": "rendez_vous_recurrent", "portes_entree": ["dechets_reemploi", "culture_education_lien_social"],
            "lieu": lieu(2), "porteurs": [{ "acteur_id": "acteur-4", "role": "pilote" }],
            "accessibilite": { "moteur": true, "notes": "Salle de plain-pied." },
            "rythme": c.rythme(debut_repair, 14, 0, "PT3H", Some(json!({ "freq": "MONTHLY", "par_jour": ["1SA"] }))),
        }),
    );
    // The weekly basket distribution, one occurrence cancelled.
    let jour_panier = jour_semaine(3);
    let annulee = Calendrier::prochain(c.plus(8), jour_panier);
    action(
        "panier",
        json!({
            "titre": m.panier,
            "resume": "Légumes, fromages et pain des producteurs du coin, commandés à l'avance.",
            "nature": "rendez_vous_recurrent", "portes_entree": ["alimentation_agriculture", "economie_locale"],
            "lieu": lieu(4), "porteurs": [{ "acteur_id": "acteur-5", "role": "partenaire" }],
            "rythme": c.rythme(Calendrier::prochain(depart, jour_panier), 18, 0, "PT1H30M",
                Some(json!({ "freq": "WEEKLY", "par_jour": [code(jour_panier)] }))),
        }),
    );
    // The fortnightly workshop, the next one moved online.
    let jour_atelier = jour_semaine(2);
    let debut_atelier = Calendrier::prochain(depart, jour_atelier);
    let mut en_ligne = debut_atelier;
    while en_ligne <= c.jour {
        en_ligne = decaler(en_ligne, 14);
    }
    action(
        "atelier",
        json!({
            "titre": m.atelier.titre, "resume": m.atelier.resume,
            "nature": "formation_atelier", "portes_entree": ["culture_education_lien_social", "solidarites_inclusion"],
            "lieu": lieu(2), "porteurs": [{ "acteur_id": "acteur-4", "role": "pilote" }],
            "rythme": c.rythme(debut_atelier, 18, 30, "PT2H",
                Some(json!({ "freq": "WEEKLY", "interval": 2, "par_jour": [code(jour_atelier)] }))),
        }),
    );
    // Saturday mornings and Sunday walks.
    action(
        "cafe-habitants",
        json!({
            "titre": "Café des habitants",
            "resume": "On se retrouve, on parle des projets, on en lance de nouveaux.",
            "nature": "temps_de_concertation",
            "portes_entree": ["gouvernance_democratie", "culture_education_lien_social"],
            "lieu": lieu(2),
            "rythme": c.rythme(Calendrier::prochain(depart, Weekday::Saturday), 10, 0, "PT2H",
                Some(json!({ "freq": "WEEKLY", "par_jour": ["SA"] }))),
        }),
    );
    action(
        "balade",
        json!({
            "titre": "Balade nature du dimanche",
            "resume": "Deux heures de marche pour observer oiseaux, plantes et paysages.",
            "nature": "rendez_vous_recurrent", "portes_entree": ["environnement_biodiversite_eau", "sante_bien_etre"],
            "lieu": lieu(0), "publics": ["tout_public", "familles"],
            "rythme": c.rythme(Calendrier::prochain(depart, Weekday::Sunday), 9, 30, "PT2H",
                Some(json!({ "freq": "WEEKLY", "par_jour": ["SU"] }))),
        }),
    );
    action(
        "conseil-energie",
        json!({
            "titre": "Conseil énergie et rénovation",
            "resume": "Un conseiller France Rénov' répond à vos questions, sur rendez-vous ou sans.",
            "nature": "permanence", "portes_entree": ["energie", "habitat_urbanisme"],
            "lieu": lieu(0),
            "rythme": c.rythme(Calendrier::du_mois(c.plus(-62), 2, Weekday::Tuesday), 14, 0, "PT3H",
                Some(json!({ "freq": "MONTHLY", "par_jour": ["2TU"] }))),
        }),
    );
    action(
        "cine-debat",
        json!({
            "titre": "Ciné-débat",
            "resume": "Un documentaire, puis une discussion avec des acteurs du territoire.",
            "nature": "rendez_vous_recurrent", "portes_entree": ["culture_education_lien_social"],
            "lieu": lieu(0),
            "rythme": c.rythme(Calendrier::du_mois(c.plus(-62), -1, Weekday::Friday), 20, 0, "PT2H30M",
                Some(json!({ "freq": "MONTHLY", "par_jour": ["-1FR"] }))),
        }),
    );
    // The yearly festival, the last Saturday of its month, five editions.
    let (titre_fete, mois_fete) = (&m.fete.titre, m.fete.mois);
    let debut_fete = Date::new(c.jour.year() - 1, mois_fete, 1)
        .map(|d| Calendrier::du_mois(d, -1, Weekday::Saturday))
        .unwrap_or(c.jour);
    action(
        "fete",
        json!({
            "titre": titre_fete,
            "resume": "Stands, ateliers, repas partagé et concert\u{a0}: la grande fête de la transition.",
            "nature": "rendez_vous_recurrent", "portes_entree": ["culture_education_lien_social", "economie_locale"],
            "lieu": lieu(4), "publics": ["tout_public", "familles", "enfants"],
            "porteurs": [{ "acteur_id": "acteur-1", "role": "referent_elu" },
                         { "acteur_id": "acteur-4", "role": "pilote" }],
            "rythme": c.rythme(debut_fete, 10, 0, "PT8H",
                Some(json!({ "freq": "YEARLY", "par_mois": [mois_fete], "par_jour": ["-1SA"], "nombre": 5 }))),
        }),
    );
    // One-offs in the coming weeks.
    action(
        "fresque",
        json!({
            "titre": "Fresque du climat",
            "resume": "Trois heures pour comprendre le changement climatique, en jouant.",
            "nature": "formation_atelier", "portes_entree": ["environnement_biodiversite_eau"],
            "lieu": lieu(3),
            "rythme": c.rythme(c.plus(3), 18, 30, "PT3H", None),
        }),
    );
    action(
        "reunion-publique",
        json!({
            "titre": "Réunion publique\u{a0}: le plan climat",
            "resume": "Présentation du plan climat et de ses actions, questions et propositions.",
            "nature": "temps_de_concertation", "portes_entree": ["gouvernance_democratie", "energie"],
            "lieu": lieu(0), "mode_participation": "mixte", "lien_en_ligne": "https://visio.example.org/plan-climat",
            "rythme": c.rythme(c.plus(10), 19, 0, "PT2H", None),
        }),
    );
    // The long projects.
    for (i, chantier) in m.chantiers.iter().enumerate() {
        let (phase, avancement, priorite) =
            [("mise_en_oeuvre", 60, "haute"), ("preparation", 25, "moyenne"), ("idee", 5, "basse")][i];
        action(
            &format!("chantier-{}", i + 1),
            json!({
                "titre": chantier.titre, "resume": chantier.resume, "nature": "chantier_projet",
                "portes_entree": [chantier.theme],
                "statut": "en_cours", "phase": phase, "avancement": avancement, "priorite": priorite,
                "debut": c.plus(-300 + 90 * i as i64).to_string(),
                "fin_prevue": c.plus(400 + 120 * i as i64).to_string(),
                "porteurs": [{ "acteur_id": "acteur-2", "role": "pilote" },
                             { "acteur_id": format!("acteur-{}", 4 + i), "role": "partenaire" }],
            }),
        );
    }
    // Drafts, not in the public agenda yet.
    action(
        "troc-graines",
        json!({
            "titre": "Troc de graines et de plants",
            "resume": "Échangez graines et plants\u{a0}: à confirmer avec la médiathèque.",
            "nature": "rendez_vous_ponctuel", "portes_entree": ["alimentation_agriculture"],
            "lieu": lieu(1), "publication": "brouillon",
            "rythme": c.rythme(c.plus(24), 10, 0, "PT3H", None),
        }),
    );
    action(
        "ressourcerie",
        json!({
            "titre": "Étude pour une ressourcerie",
            "resume": "Idée en cours\u{a0}: un lieu de réemploi ouvert toute la semaine.",
            "nature": "chantier_projet", "portes_entree": ["dechets_reemploi"], "statut": "a_venir", "phase": "idee",
            "publication": "brouillon", "a_discuter": true,
        }),
    );

    // Needs, and who answered.
    let chantier_echeance = c.plus(90).to_string();
    let (pourvu_en_partie, ouvert) = ("partiellement_pourvu", "ouvert");
    let besoins = [
        (
            "repair-cafe",
            "reparateurs",
            "benevoles",
            "Des bricoleuses et bricoleurs pour réparer",
            Some(4),
            None,
            pourvu_en_partie,
        ),
        ("panier", "distribution", "benevoles", "Aide à la distribution, une heure", Some(2), None, pourvu_en_partie),
        ("fete", "barnums", "materiel", "Barnums, tables et bancs", Some(10), None, ouvert),
        ("fete", "son", "competence", "Quelqu'un qui s'y connaît en sonorisation", None, None, ouvert),
        (
            "chantier-1",
            "financement",
            "financement",
            "Compléter le plan de financement",
            None,
            Some(chantier_echeance),
            ouvert,
        ),
    ];
    for (action_id, besoin_id, genre, description, quantite, echeance, statut) in besoins {
        let besoin = json!({ "type": genre, "description": description, "quantite": quantite, "echeance": echeance,
                             "statut": statut });
        e.push(json!({ "type": "definir_besoin", "action_id": action_id, "besoin_id": besoin_id, "besoin": besoin }));
    }
    let volontaires = [
        ("repair-cafe", "reparateurs", "v1", "Lucie F.", 12),
        ("repair-cafe", "reparateurs", "v2", "Ahmed B.", 2),
        ("panier", "distribution", "v1", "Jeanne M.", 5),
    ];
    for (action_id, besoin_id, id, nom, il_y_a) in volontaires {
        let volontaire = json!({ "nom": nom, "date": c.plus(-il_y_a).to_string(), "confirme": il_y_a > 3 });
        e.push(json!({ "type": "ajouter_volontaire", "action_id": action_id, "besoin_id": besoin_id,
                       "volontaire_id": id, "volontaire": volontaire }));
    }

    // One occurrence cancelled, the next workshop online.
    e.push(json!({ "type": "modifier_occurrence", "collection": "actions", "id": "panier",
        "origine": heure_locale(annulee, 18, 0),
        "exception": { "etat": "annule", "motif": "Les producteurs sont au salon de l'agriculture." } }));
    e.push(json!({ "type": "modifier_occurrence", "collection": "actions", "id": "atelier",
        "origine": heure_locale(en_ligne, 18, 30),
        "exception": { "etat": "deplace_en_ligne", "lien_en_ligne": "https://visio.example.org/atelier",
                       "motif": "Salle indisponible\u{a0}: l'atelier a lieu en visio." } }));
    // The summer pause.
    e.push(json!({ "type": "pauser", "collection": "actions", "id": "permanence",
        "pause": { "du": format!("{annee_pause}-08-01"), "au": format!("{annee_pause}-08-24"),
                   "motif": "pause estivale" } }));

    // Governance: bodies with their rhythm, decisions, a roadmap.
    let membres = json!([{ "acteur_id": "acteur-1", "role": "présidence" },
                         { "acteur_id": "acteur-2", "role": "secrétariat" },
                         { "acteur_id": "acteur-3", "role": "invitée" },
                         { "acteur_id": "acteur-4", "role": "membre" }]);
    e.push(json!({ "type": "creer", "collection": "instances", "id": "conseil", "valeur": {
        "nom": m.conseil,
        "type": if m.genre.starts_with("commune") { "conseil_municipal" } else { "autre" },
        "rythme": c.rythme(Calendrier::du_mois(c.plus(-62), 2, Weekday::Thursday), 20, 0, "PT2H",
            Some(json!({ "freq": "MONTHLY", "par_jour": ["2TH"] }))),
        "membres": [{ "acteur_id": "acteur-1", "role": "élue référente" }] } }));
    e.push(json!({ "type": "creer", "collection": "instances", "id": "copil", "valeur": {
        "nom": "Comité de pilotage de la transition", "type": "comite_pilotage",
        "rythme": c.rythme(Calendrier::du_mois(c.plus(-62), 1, Weekday::Monday), 18, 0, "PT2H",
            Some(json!({ "freq": "MONTHLY", "interval": 3, "par_jour": ["1MO"] }))),
        "membres": membres } }));
    e.push(json!({ "type": "pauser", "collection": "instances", "id": "copil",
        "pause": { "du": format!("{annee_pause}-07-15"), "au": format!("{annee_pause}-08-31"),
                   "motif": "pause estivale" } }));
    e.push(json!({ "type": "creer", "collection": "decisions", "id": "plan-velo", "valeur": {
        "titre": "Adopter le schéma des itinéraires cyclables",
        "contexte": "Après trois ateliers avec les habitants.",
        "objections": "Les commerçants craignaient pour le stationnement\u{a0}: la rue du marché reste ouverte aux livraisons.",
        "instance_id": "copil", "processus": "consentement", "statut": "actee", "publication": "publie",
        "issue": { "enonce": "Le schéma est adopté\u{a0}; première tranche de travaux l'an prochain.",
                   "date": c.plus(-40).to_string(), "a_revoir_le": c.plus(325).to_string() },
        "actions": ["chantier-1"] } }));
    e.push(json!({ "type": "creer", "collection": "decisions", "id": "lieu-repair", "valeur": {
        "titre": "Accueillir le repair café chaque mois", "instance_id": "conseil",
        "processus": "deliberation_institutionnelle", "statut": "close", "publication": "publie",
        "issue": { "enonce": "La salle est mise à disposition gratuitement.", "date": c.plus(-70).to_string() },
        "actions": ["repair-cafe"] } }));
    e.push(json!({ "type": "creer", "collection": "decisions", "id": "budget-participatif", "valeur": {
        "titre": "Choisir les projets du budget participatif", "contexte": "Douze projets proposés par les habitants.",
        "processus": "jugement_majoritaire", "statut": "ouverte", "cloture": c.plus(20).to_string() } }));
    let annee = c.jour.year();
    let (horizon_debut, horizon_fin) = ((annee - 1).to_string(), (annee + 4).to_string());
    e.push(json!({ "type": "modifier_horizon", "horizon_debut": horizon_debut, "horizon_fin": horizon_fin }));
    for (id, titre, debut, fin, statut) in [
        ("diagnostic", "Diagnostic partagé", -400, -120, "realisee"),
        ("plan", "Plan d'actions et premiers chantiers", -120, 500, "en_cours"),
        ("evaluation", "Évaluation à mi-parcours", 500, 700, "a_venir"),
    ] {
        e.push(json!({ "type": "creer", "collection": "phases", "id": id, "valeur": {
            "titre": titre, "debut": c.plus(debut).to_string(), "fin": c.plus(fin).to_string(), "statut": statut } }));
    }
    (e, carnet)
}

/// The territory's experience sheets, as JSON (`FicheDemo`): one published
/// (reviewed by a second organiser, then published), telling of its repair
/// café, and one draft still being written.
pub(super) fn fiches(m: &Modele) -> Vec<Value> {
    let lieu = &m.lieux[0].libelle;
    vec![
        json!({
            "publiee": true,
            "actions": ["repair-cafe"],
            "contenu": {
                "titre": "Un repair café qui tient dans la durée",
                "resume": "Des bénévoles réparent avec les habitants, chaque mois, dans une salle prêtée par \
                           la commune\u{a0}: ce qui a marché, ce qui a coincé.",
                "contexte": format!("Les déchèteries du secteur recevaient chaque semaine des appareils \
                    encore réparables. Quelques habitants bricoleurs voulaient transmettre, sans lieu pour le \
                    faire.\n\nLe conseil a accepté de prêter un lieu un samedi par mois\u{a0}: {lieu}."),
                "ce_qui_a_ete_fait": "Un premier atelier annoncé au marché et par l'agenda d'Essaim, avec \
                    quatre bénévoles.\n\nUne fiche d'accueil pour noter chaque objet, la panne et le résultat.\n\n\
                    Un partenariat avec la ressourcerie pour les pièces détachées.",
                "resultats": "En un an, 11 ateliers, 240 objets apportés, 62\u{a0}% réparés.\n\nDouze bénévoles \
                    réguliers, dont cinq qui ne bricolaient pas au départ.",
                "difficultes": "Les assurances de la salle\u{a0}: il a fallu une convention signée.\n\nL'attente \
                    trop longue aux premiers ateliers\u{a0}: nous prenons désormais les inscriptions.",
                "conseils": "Commencer petit, avec un lieu régulier.\n\nNoter chaque réparation dès le premier \
                    jour\u{a0}: les chiffres convainquent les élus.",
                "portes_entree": ["dechets_reemploi", "culture_education_lien_social"],
                "mesures_pacte": ["M05"],
                "acteurs": [m.personnes[0].nom],
                "licence": "CC BY-SA 4.0"
            }
        }),
        json!({
            "publiee": false,
            "actions": [],
            "contenu": {
                "titre": "Le budget participatif, première édition",
                "resume": "Ce que nous retenons du premier budget participatif (en cours d'écriture).",
                "contexte": "Douze projets proposés par les habitants, un vote au jugement majoritaire.",
                "portes_entree": ["gouvernance_democratie"],
                "mesures_pacte": ["M30"]
            }
        }),
    ]
}
