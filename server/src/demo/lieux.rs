//! The demonstration territories' places and people: data only, in
//! French. Every name, address and contact is invented (phone numbers in
//! the range ARCEP keeps for fiction, e-mails at `example.org`); the
//! INSEE codes are real-looking so the feeds and the app show them as
//! they would a real territory's. `contenu.rs` turns one of these into
//! edits.

/// A place where rendez-vous happen.
pub(super) struct Lieu {
    pub(super) libelle: &'static str,
    pub(super) adresse: &'static str,
}

/// A person or an organisation of the territory.
pub(super) struct Personne {
    pub(super) nom: &'static str,
    /// `categorie` of the schema (`elu`, `agent_collectivite`…).
    pub(super) categorie: &'static str,
    pub(super) role: &'static str,
    pub(super) email: &'static str,
    pub(super) tel: &'static str,
}

/// One demonstration territory, before its dates.
pub(super) struct Modele {
    pub(super) nom: &'static str,
    /// `type` of the profile (`commune`, `quartier`…).
    pub(super) genre: &'static str,
    pub(super) insee: &'static [&'static str],
    pub(super) epci: Option<&'static str>,
    pub(super) fuseau: &'static str,
    pub(super) presentation: &'static str,
    /// The main hall, the garden, the third place, the school, the market.
    pub(super) lieux: [Lieu; 5],
    /// An elected member, a territorial agent, a State representative,
    /// then three socio-economic actors (the *4 Fantastiques*).
    pub(super) personnes: [Personne; 6],
    /// The weekly basket distribution.
    pub(super) panier: &'static str,
    /// The fortnightly workshop: title and summary.
    pub(super) atelier: (&'static str, &'static str),
    /// The yearly festival and its month.
    pub(super) fete: (&'static str, i8),
    /// The long projects: title, summary, theme.
    pub(super) chantiers: [(&'static str, &'static str, &'static str); 3],
    /// The elected body's name.
    pub(super) conseil: &'static str,
}

/// Shown first in every presentation.
pub(super) const AVERTISSEMENT: &str = "Territoire de démonstration d'Essaim : les personnes, les lieux et les \
     rendez-vous sont inventés. Explorez librement, rien de ce que vous voyez n'engage personne.";

pub(super) const MODELES: [Modele; 6] = [
    Modele {
        nom: "Saint-Aubin-des-Bois (démonstration)",
        genre: "commune",
        insee: &["58231"],
        epci: None,
        fuseau: "Europe/Paris",
        presentation: "Une commune rurale de 900 habitants au bord du Morvan, qui s'est lancée dans la transition \
             avec son école, ses agriculteurs et son café associatif.",
        lieux: [
            Lieu { libelle: "Salle des fêtes", adresse: "2 place de l'Église, 58000 Saint-Aubin-des-Bois" },
            Lieu {
                libelle: "Jardin partagé du Presbytère", adresse: "Rue du Presbytère, 58000 Saint-Aubin-des-Bois"
            },
            Lieu { libelle: "Café associatif La Grange", adresse: "14 route de Nevers, 58000 Saint-Aubin-des-Bois" },
            Lieu { libelle: "École communale", adresse: "1 rue des Écoles, 58000 Saint-Aubin-des-Bois" },
            Lieu { libelle: "Place du marché", adresse: "Place du Champ-de-Foire, 58000 Saint-Aubin-des-Bois" },
        ],
        personnes: [
            Personne {
                nom: "Martine Lavaud",
                categorie: "elu",
                role: "Adjointe à la transition écologique",
                email: "martine.lavaud@example.org",
                tel: "01 99 00 10 01",
            },
            Personne {
                nom: "Julien Perrot",
                categorie: "agent_collectivite",
                role: "Secrétaire de mairie",
                email: "julien.perrot@example.org",
                tel: "01 99 00 10 02",
            },
            Personne {
                nom: "Sophie Renard",
                categorie: "representant_etat",
                role: "Référente transition écologique, DDT",
                email: "sophie.renard@example.org",
                tel: "01 99 00 10 03",
            },
            Personne {
                nom: "Association La Grange",
                categorie: "association",
                role: "Café associatif et repair café",
                email: "contact.lagrange@example.org",
                tel: "01 99 00 10 04",
            },
            Personne {
                nom: "GAEC des Trois Chênes",
                categorie: "entreprise",
                role: "Maraîchage et élevage bio",
                email: "troischenes@example.org",
                tel: "01 99 00 10 05",
            },
            Personne {
                nom: "Coopérative Énergies du Morvan",
                categorie: "entreprise_ess",
                role: "Centrales solaires citoyennes",
                email: "energies.morvan@example.org",
                tel: "01 99 00 10 06",
            },
        ],
        panier: "Distribution de l'AMAP",
        atelier: ("Atelier cuisine anti-gaspi", "On cuisine les invendus du marché, puis on partage le repas."),
        fete: ("Fête des possibles", 9),
        chantiers: [
            ("Rénovation énergétique de l'école", "Isolation, chaudière bois et suivi des consommations.", "energie"),
            ("Cantine 100 % locale", "Des produits du canton à la cantine d'ici deux ans.", "alimentation_agriculture"),
            (
                "Haies bocagères",
                "Replanter deux kilomètres de haies avec les agriculteurs.",
                "environnement_biodiversite_eau",
            ),
        ],
        conseil: "Conseil municipal",
    },
    Modele {
        nom: "Quartier des Tisserands (démonstration)",
        genre: "quartier",
        insee: &["69388"],
        epci: None,
        fuseau: "Europe/Paris",
        presentation: "Un quartier populaire de 6 000 habitants, entre tours et faubourg, où le centre social, les \
             bailleurs et les habitants font la transition ensemble.",
        lieux: [
            Lieu { libelle: "Centre social des Tisserands", adresse: "8 rue des Canuts, 69008 Lyon" },
            Lieu { libelle: "Jardin de la Cour Verte", adresse: "Cour de la résidence Jacquard, 69008 Lyon" },
            Lieu { libelle: "Tiers-lieu La Navette", adresse: "31 avenue des Métiers, 69008 Lyon" },
            Lieu { libelle: "Groupe scolaire Jacquard", adresse: "5 rue Jacquard, 69008 Lyon" },
            Lieu { libelle: "Place des Tisserands", adresse: "Place des Tisserands, 69008 Lyon" },
        ],
        personnes: [
            Personne {
                nom: "Karim Haddad",
                categorie: "elu",
                role: "Élu d'arrondissement, vie des quartiers",
                email: "karim.haddad@example.org",
                tel: "01 99 00 20 01",
            },
            Personne {
                nom: "Élodie Marchand",
                categorie: "agent_collectivite",
                role: "Cheffe de projet politique de la ville",
                email: "elodie.marchand@example.org",
                tel: "01 99 00 20 02",
            },
            Personne {
                nom: "Bernard Tissot",
                categorie: "representant_etat",
                role: "Délégué du préfet",
                email: "bernard.tissot@example.org",
                tel: "01 99 00 20 03",
            },
            Personne {
                nom: "Centre social des Tisserands",
                categorie: "association",
                role: "Animation et accueil des habitants",
                email: "accueil.tisserands@example.org",
                tel: "01 99 00 20 04",
            },
            Personne {
                nom: "Atelier vélo La Rustine",
                categorie: "association",
                role: "Réparation solidaire de vélos",
                email: "larustine@example.org",
                tel: "01 99 00 20 05",
            },
            Personne {
                nom: "Régie de quartier Trame",
                categorie: "entreprise_ess",
                role: "Insertion, entretien et réemploi",
                email: "regie.trame@example.org",
                tel: "01 99 00 20 06",
            },
        ],
        panier: "Distribution des paniers solidaires",
        atelier: ("Atelier vélo", "Apprenez à réparer votre vélo avec les bénévoles de La Rustine."),
        fete: ("Fête du quartier", 6),
        chantiers: [
            (
                "Cour d'école végétalisée",
                "Débitumer et planter la cour du groupe scolaire.",
                "environnement_biodiversite_eau",
            ),
            ("Ressourcerie de quartier", "Un local de réemploi ouvert trois jours par semaine.", "dechets_reemploi"),
            (
                "Rénovation de la résidence Jacquard",
                "Isolation des 120 logements avec les locataires.",
                "habitat_urbanisme",
            ),
        ],
        conseil: "Conseil de quartier",
    },
    Modele {
        nom: "Communauté de communes du Val de Loue (démonstration)",
        genre: "intercommunalite_epci",
        insee: &["39001", "39112", "39287", "39434", "39520"],
        epci: Some("200068310"),
        fuseau: "Europe/Paris",
        presentation: "Vingt-deux communes et 18 000 habitants entre vignes et forêts, engagées dans un projet de \
             territoire pour l'eau, l'énergie et l'alimentation.",
        lieux: [
            Lieu { libelle: "Maison de la communauté", adresse: "3 rue de la Loue, 39600 Val-de-Loue" },
            Lieu { libelle: "Jardin pédagogique des Prés", adresse: "Chemin des Prés, 39600 Val-de-Loue" },
            Lieu { libelle: "Tiers-lieu L'Établi", adresse: "Ancienne scierie, 39600 Val-de-Loue" },
            Lieu { libelle: "Collège Pasteur", adresse: "10 avenue Pasteur, 39600 Val-de-Loue" },
            Lieu { libelle: "Halle du marché", adresse: "Place de la Halle, 39600 Val-de-Loue" },
        ],
        personnes: [
            Personne {
                nom: "Hélène Jacquin",
                categorie: "elu",
                role: "Vice-présidente transition écologique",
                email: "helene.jacquin@example.org",
                tel: "01 99 00 30 01",
            },
            Personne {
                nom: "Mathieu Grosjean",
                categorie: "agent_collectivite",
                role: "Chargé de mission PCAET",
                email: "mathieu.grosjean@example.org",
                tel: "01 99 00 30 02",
            },
            Personne {
                nom: "Anne-Sophie Vuillet",
                categorie: "representant_etat",
                role: "Sous-préfète, référente France Nation Verte",
                email: "anne-sophie.vuillet@example.org",
                tel: "01 99 00 30 03",
            },
            Personne {
                nom: "Fruitière coopérative du Val",
                categorie: "entreprise_ess",
                role: "Fromagerie coopérative",
                email: "fruitiere@example.org",
                tel: "01 99 00 30 04",
            },
            Personne {
                nom: "Association Loue Vivante",
                categorie: "association",
                role: "Protection de la rivière",
                email: "louevivante@example.org",
                tel: "01 99 00 30 05",
            },
            Personne {
                nom: "Scierie Bourgeois",
                categorie: "entreprise",
                role: "Bois local et construction",
                email: "scierie.bourgeois@example.org",
                tel: "01 99 00 30 06",
            },
        ],
        panier: "Marché paysan du vendredi",
        atelier: (
            "Atelier rénovation énergétique",
            "Conseils gratuits pour isoler et chauffer mieux, avec l'espace conseil France Rénov'.",
        ),
        fete: ("Fête de la rivière", 7),
        chantiers: [
            ("Plan vélo intercommunal", "Quarante kilomètres de voies cyclables entre les bourgs.", "mobilite"),
            (
                "Projet alimentaire territorial",
                "Relier producteurs, cantines et habitants.",
                "alimentation_agriculture",
            ),
            (
                "Restauration de la Loue",
                "Renaturer les berges et suivre la qualité de l'eau.",
                "environnement_biodiversite_eau",
            ),
        ],
        conseil: "Conseil communautaire",
    },
    Modele {
        nom: "Sainte-Rose des Hauts (démonstration)",
        genre: "commune",
        insee: &["97419"],
        epci: None,
        fuseau: "Indian/Reunion",
        presentation: "Une commune de l'Est de La Réunion, entre volcan et océan, où les habitants font vivre les \
             jardins créoles, l'entraide et les savoir-faire lontan.",
        lieux: [
            Lieu { libelle: "Case communale", adresse: "12 rue de l'Église, 97439 Sainte-Rose" },
            Lieu { libelle: "Jardin créole partagé", adresse: "Chemin Ravine-Glissante, 97439 Sainte-Rose" },
            Lieu { libelle: "Tiers-lieu Kaz Lantant", adresse: "5 rue du Port, 97439 Sainte-Rose" },
            Lieu { libelle: "École du Piton", adresse: "Route nationale 2, 97439 Sainte-Rose" },
            Lieu { libelle: "Marché forain", adresse: "Front de mer, 97439 Sainte-Rose" },
        ],
        personnes: [
            Personne {
                nom: "Marie-Claude Hoarau",
                categorie: "elu",
                role: "Adjointe au développement durable",
                email: "marie-claude.hoarau@example.org",
                tel: "01 99 00 40 01",
            },
            Personne {
                nom: "Thierry Payet",
                categorie: "agent_collectivite",
                role: "Chargé de mission agriculture et alimentation",
                email: "thierry.payet@example.org",
                tel: "01 99 00 40 02",
            },
            Personne {
                nom: "Nadia Boyer",
                categorie: "representant_etat",
                role: "Sous-préfecture de Saint-Benoît, référente transition",
                email: "nadia.boyer@example.org",
                tel: "01 99 00 40 03",
            },
            Personne {
                nom: "Association Kaz Lantant",
                categorie: "association",
                role: "Tiers-lieu et savoir-faire lontan",
                email: "kazlantant@example.org",
                tel: "01 99 00 40 04",
            },
            Personne {
                nom: "Coopérative Vanille de l'Est",
                categorie: "entreprise_ess",
                role: "Vanille et cultures vivrières",
                email: "vanille.est@example.org",
                tel: "01 99 00 40 05",
            },
            Personne {
                nom: "Pêcheurs de Sainte-Rose",
                categorie: "entreprise",
                role: "Pêche artisanale",
                email: "pecheurs.sainte-rose@example.org",
                tel: "01 99 00 40 06",
            },
        ],
        panier: "Distribution des paniers péi",
        atelier: (
            "Atelier tisanes et plantes lontan",
            "Reconnaître, cultiver et préparer les plantes médicinales créoles.",
        ),
        fete: ("Fête des jardins créoles", 10),
        chantiers: [
            (
                "Récupération de l'eau de pluie",
                "Des citernes pour les jardins et l'école avant la saison sèche.",
                "environnement_biodiversite_eau",
            ),
            ("Cantine péi", "Des produits de l'île à la cantine, avec les planteurs.", "alimentation_agriculture"),
            (
                "Sentier du littoral",
                "Entretenir et baliser le sentier avec les associations.",
                "culture_education_lien_social",
            ),
        ],
        conseil: "Conseil municipal",
    },
    Modele {
        nom: "Pays des Combrailles (démonstration)",
        genre: "pays_petr",
        insee: &["63113", "63169", "63354"],
        epci: None,
        fuseau: "Europe/Paris",
        presentation: "Un pays de moyenne montagne, ses volcans et ses bourgs, qui coordonne la transition de trois \
             intercommunalités.",
        lieux: [
            Lieu { libelle: "Maison du Pays", adresse: "1 place de la Mairie, 63390 Saint-Gervais" },
            Lieu { libelle: "Verger conservatoire", adresse: "Route des Puys, 63390 Saint-Gervais" },
            Lieu { libelle: "Tiers-lieu La Forge", adresse: "7 rue des Forges, 63390 Saint-Gervais" },
            Lieu { libelle: "Lycée agricole", adresse: "Le Bourg, 63390 Saint-Gervais" },
            Lieu { libelle: "Foirail", adresse: "Place du Foirail, 63390 Saint-Gervais" },
        ],
        personnes: [
            Personne {
                nom: "Pierre Chabrol",
                categorie: "elu",
                role: "Président du pays",
                email: "pierre.chabrol@example.org",
                tel: "01 99 00 50 01",
            },
            Personne {
                nom: "Claire Dumas",
                categorie: "agent_collectivite",
                role: "Animatrice du contrat de transition",
                email: "claire.dumas@example.org",
                tel: "01 99 00 50 02",
            },
            Personne {
                nom: "Olivier Fabre",
                categorie: "representant_etat",
                role: "DDT, référent territorial",
                email: "olivier.fabre@example.org",
                tel: "01 99 00 50 03",
            },
            Personne {
                nom: "Coopérative Combrailles Bois",
                categorie: "entreprise_ess",
                role: "Bois-énergie local",
                email: "combrailles.bois@example.org",
                tel: "01 99 00 50 04",
            },
            Personne {
                nom: "Association Les Croqueurs de pommes",
                categorie: "association",
                role: "Vergers et variétés anciennes",
                email: "croqueurs@example.org",
                tel: "01 99 00 50 05",
            },
            Personne {
                nom: "Ferme des Puys",
                categorie: "entreprise",
                role: "Élevage et vente directe",
                email: "fermedespuys@example.org",
                tel: "01 99 00 50 06",
            },
        ],
        panier: "Distribution du drive fermier",
        atelier: ("Atelier greffe et taille", "Greffer et tailler les fruitiers avec les Croqueurs de pommes."),
        fete: ("Fête de la pomme", 10),
        chantiers: [
            ("Réseau de chaleur bois", "Chauffer les bâtiments publics au bois local.", "energie"),
            ("Transport à la demande", "Un service pour les villages sans car.", "mobilite"),
            ("Vergers partagés", "Planter un verger dans chaque commune.", "alimentation_agriculture"),
        ],
        conseil: "Comité syndical",
    },
    Modele {
        nom: "Val-d'Ouche (démonstration)",
        genre: "commune_nouvelle",
        insee: &["21452"],
        epci: None,
        fuseau: "Europe/Paris",
        presentation: "Une commune nouvelle née de quatre villages le long du canal, qui a fait de la mobilité et de \
             l'eau ses priorités.",
        lieux: [
            Lieu { libelle: "Mairie annexe", adresse: "4 rue du Canal, 21360 Val-d'Ouche" },
            Lieu { libelle: "Jardins de l'écluse", adresse: "Chemin de halage, 21360 Val-d'Ouche" },
            Lieu { libelle: "Maison des associations", adresse: "2 rue de la Poste, 21360 Val-d'Ouche" },
            Lieu { libelle: "École du Canal", adresse: "11 rue du Canal, 21360 Val-d'Ouche" },
            Lieu { libelle: "Port de plaisance", adresse: "Quai du Port, 21360 Val-d'Ouche" },
        ],
        personnes: [
            Personne {
                nom: "Isabelle Garnier",
                categorie: "elu",
                role: "Maire déléguée",
                email: "isabelle.garnier@example.org",
                tel: "01 99 00 60 01",
            },
            Personne {
                nom: "Samuel Diallo",
                categorie: "agent_collectivite",
                role: "Chargé de mission mobilité",
                email: "samuel.diallo@example.org",
                tel: "01 99 00 60 02",
            },
            Personne {
                nom: "Catherine Moreau",
                categorie: "representant_etat",
                role: "Voies navigables, référente territoriale",
                email: "catherine.moreau@example.org",
                tel: "01 99 00 60 03",
            },
            Personne {
                nom: "Association Vélo Canal",
                categorie: "association",
                role: "Vélo-école et balades",
                email: "velocanal@example.org",
                tel: "01 99 00 60 04",
            },
            Personne {
                nom: "Épicerie coopérative L'Écluse",
                categorie: "entreprise_ess",
                role: "Épicerie en vrac",
                email: "epicerie.ecluse@example.org",
                tel: "01 99 00 60 05",
            },
            Personne {
                nom: "Domaine du Canal",
                categorie: "entreprise",
                role: "Vigne en conversion bio",
                email: "domaine.canal@example.org",
                tel: "01 99 00 60 06",
            },
        ],
        panier: "Distribution de l'épicerie coopérative",
        atelier: ("Vélo-école", "Apprendre ou réapprendre le vélo, à tout âge."),
        fete: ("Fête du canal", 8),
        chantiers: [
            ("Véloroute des villages", "Relier les quatre villages par le chemin de halage.", "mobilite"),
            ("Économies d'eau", "Récupérateurs d'eau et suivi des fuites du réseau.", "environnement_biodiversite_eau"),
            ("Épicerie coopérative", "Ouvrir une deuxième boutique dans l'ancienne poste.", "economie_locale"),
        ],
        conseil: "Conseil municipal",
    },
];
