// Generated from sync-core's types by wasm-client (src/domaine.rs);
// do not edit. Regenerate: UPDATE_EXPECT=1 cargo test -p wasm-client typescript

export type Agenda = { profil: Profil | null, actions: Record<string, Action>, acteurs: Record<string, Acteur>, contacts_prives: Record<string, ContactPrive>, feuille_de_route: FeuilleDeRoute, instances: Record<string, Instance>, decisions: Record<string, Decision>, auteurs: Record<string, Auteur>, conflits: Array<Conflit>, erreurs: Array<string>, };

export type Profil = { nom: string, type: TypeTerritoire, codes: Codes, fuseau: string, presentation: string, portes_entree: Array<Theme>, reseaux: Array<LienReseau>, engagements_pacte: Array<Engagement>, comment_cest_decide: string, visibilite: VisibiliteTerritoire, demonstration: boolean, cree_le: number | null, modifie_le: number | null, modifie_par: string | null, supprime: boolean, };

export type Codes = { insee: Array<string>, siren: string | null, code_epci: string | null, };

export type LienReseau = { reseau: Reseau, role: RoleReseau, depuis: string | null, };

export type Engagement = { mesure: string, niveau: number, };

export type Action = { titre: string, resume: string, description: string, nature: Nature, portes_entree: Array<Theme>, mots_cles: Array<string>, statut: Statut, a_discuter: boolean, temps_fort: boolean, phase: PhaseAction, avancement: number, priorite: Priorite, debut: string | null, fin_prevue: string | null, rythme: Rythme | null, lieu: Lieu | null, mode_participation: ModeParticipation, lien_en_ligne: string | null, porteurs: Array<Porteur>, besoins: Record<string, Besoin>, publics: Array<Public>, accessibilite: Accessibilite, publication: Publication, visibilite: Visibilite, parent_id: string | null, inspire_de: Provenance | null, cree_le: number | null, modifie_le: number | null, modifie_par: string | null, supprime: boolean, };

export type Provenance = { territoire: string, territoire_nom: string, action: string, titre: string, tetes: Array<string>, licence: string, };

export type ActionPublique = { provenance: Provenance, titre: string, resume: string, description: string, nature: Nature, portes_entree: Array<Theme>, publics: Array<Public>, accessibilite: Accessibilite, rythme: Rythme | null, };

export type Auteur = { nom: string, };

export type Evenement = { auteur: string | null, nom: string | null, date: number, texte: string, };

export type GenreDocument = "carnet" | "fiche";

export type Carnet = { contacts: Record<string, ContactPrive>, };

export type EditCarnet = { "type": "definir_contact", acteur_id: string, contact: Partial<ContactPrive>, } | { "type": "retirer_contact", acteur_id: string, };

export type Lieu = { libelle: string, adresse: string, code_insee: string | null, lat: number | null, lon: number | null, acces: string, };

export type Porteur = { acteur_id: string, role: RolePorteur, };

export type Besoin = { type: TypeBesoin, description: string, quantite: number | null, unite: string | null, echeance: string | null, occurrence: string | null, statut: StatutBesoin, volontaires: Record<string, Volontaire>, };

export type Volontaire = { acteur_id: string | null, nom: string | null, date: string | null, confirme: boolean, message: string | null, preuve: string | null, };

export type Accessibilite = { auditif: boolean, visuel: boolean, psychique: boolean, moteur: boolean, intellectuel: boolean, falc: boolean, notes: string, };

export type Acteur = { nom: string, categorie: Categorie, famille_4f: Famille4F | null, roles: Array<string>, competences: Array<string>, visible_publiquement: boolean, cree_le: number | null, modifie_le: number | null, modifie_par: string | null, supprime: boolean, };

export type ContactPrive = { email: string | null, tel: string | null, adresse: string | null, notes: string | null, };

export type FeuilleDeRoute = { horizon_debut: string | null, horizon_fin: string | null, phases: Record<string, Phase>, };

export type Phase = { titre: string, debut: string | null, fin: string | null, description: string, statut: StatutPhase, cree_le: number | null, modifie_le: number | null, modifie_par: string | null, supprime: boolean, };

export type Instance = { nom: string, type: TypeInstance, rythme: Rythme | null, membres: Array<Membre>, cree_le: number | null, modifie_le: number | null, modifie_par: string | null, supprime: boolean, };

export type Membre = { acteur_id: string, role: string, };

export type Decision = { titre: string, contexte: string, instance_id: string | null, processus: Processus, cloture: string | null, statut: StatutDecision, issue: Issue | null, actions: Array<string>, objections: string, publication: Publication, cree_le: number | null, modifie_le: number | null, modifie_par: string | null, supprime: boolean, };

export type Issue = { enonce: string, date: string | null, a_revoir_le: string | null, };

export type Conflit = { chemin: string, valeurs: Array<ValeurConcurrente>, };

export type ValeurConcurrente = { valeur: unknown, auteur: string | null, date: number | null, };

export type RendezVous = { collection: Collection, id: string, titre: string, occurrence: Occurrence, };

export type Collection = "actions" | "acteurs" | "instances" | "decisions" | "phases";

export type Edit = { "type": "modifier_profil", champs: Partial<Profil>, } | { "type": "modifier_horizon", horizon_debut: string | null, horizon_fin: string | null, } | { "type": "creer", collection: Collection, id: string, valeur: Enregistrement, } | { "type": "modifier", collection: Collection, id: string, champs: Enregistrement, } | { "type": "supprimer", collection: Collection, id: string, } | { "type": "definir_nom", nom: string, } | { "type": "attacher_document", document: string, genre: GenreDocument, } | { "type": "detacher_document", document: string, } | { "type": "definir_besoin", action_id: string, besoin_id: string, besoin: Partial<Besoin> & Pick<Besoin, "type">, } | { "type": "ajouter_volontaire", action_id: string, besoin_id: string, volontaire_id: string, volontaire: Partial<Volontaire>, } | { "type": "modifier_occurrence", collection: Collection, id: string, origine: string, exception: Partial<Exception>, } | { "type": "pauser", collection: Collection, id: string, pause: Pick<Pause, "du" | "au"> & Partial<Pause>, } | { "type": "scinder_serie", action_id: string, a_partir_de: string, nouvel_id: string, champs?: Partial<Action>, };

export type Rythme = { debut: string, fuseau: string, duree: string, regle?: Regle | null, ajouts?: Array<string>, exclusions?: Array<string>, pauses?: Array<Pause>, exceptions?: Record<string, Exception>, confirmer_avant?: string | null, serie_precedente?: string | null, };

export type Regle = { freq: Frequence, interval?: number, par_jour?: Array<string>, par_jour_du_mois?: Array<number>, par_mois?: Array<number>, jusqu_au?: string, nombre?: number, };

export type Frequence = "DAILY" | "WEEKLY" | "MONTHLY" | "YEARLY";

export type Pause = { du: string, au: string, motif?: string | null, };

export type Exception = { etat?: EtatOccurrence | null, debut?: string | null, duree?: string | null, lieu?: string | null, lien_en_ligne?: string | null, motif?: string | null, };

export type Occurrence = { origine: string, debut: string, fin: string, debut_utc: string, fin_utc: string, etat: EtatOccurrence, deplacee: boolean, lieu?: string | null, lien_en_ligne?: string | null, motif?: string | null, retrait?: Retrait | null, };

export type Retrait = { "type": "exclue" } | { "type": "en_pause", motif: string | null, };

export type Output = { "kind": "send", conn: number, bytes: Uint8Array, } | { "kind": "close", conn: number, reason: string, } | { "kind": "load", doc: string, } | { "kind": "write", put: Array<[string, Uint8Array]>, delete: Array<string>, } | { "kind": "changed", doc: string, } | { "kind": "unavailable", doc: string, } | { "kind": "ephemeral", doc: string, sender: string, data: Uint8Array, };

export type TypeTerritoire = "commune" | "commune_nouvelle" | "intercommunalite_epci" | "pays_petr" | "parc_naturel_regional" | "quartier" | "bassin_de_vie" | "departement" | "autre";

export type VisibiliteTerritoire = "public" | "reseau" | "prive";

export type Theme = "economie_locale" | "alimentation_agriculture" | "gouvernance_democratie" | "environnement_biodiversite_eau" | "habitat_urbanisme" | "energie" | "mobilite" | "dechets_reemploi" | "solidarites_inclusion" | "culture_education_lien_social" | "sante_bien_etre" | "numerique_communs";

export type Reseau = "colibris" | "democratie_ouverte" | "ctc_pacte_transition" | "fabrique_des_transitions" | "transiscope" | "mouvement_sol" | "reseau_ressourceries" | "emmaus" | "hameaux_legers" | "avise" | "autre";

export type RoleReseau = "accompagnement" | "labellisation" | "financement" | "formation" | "mise_en_reseau";

export type Nature = "rendez_vous_ponctuel" | "rendez_vous_recurrent" | "chantier_projet" | "permanence" | "formation_atelier" | "temps_de_concertation" | "action_continue";

export type PhaseAction = "idee" | "preparation" | "mise_en_oeuvre" | "perennisee";

export type Statut = "a_venir" | "en_cours" | "en_retard" | "en_pause" | "bloquee" | "realisee" | "abandonnee";

export type Priorite = "haute" | "moyenne" | "basse";

export type ModeParticipation = "sur_place" | "en_ligne" | "mixte";

export type RolePorteur = "pilote" | "copilote" | "referent_elu" | "referent_technique" | "partenaire" | "financeur" | "benevole_referent";

export type TypeBesoin = "benevoles" | "competence" | "materiel" | "lieu" | "financement" | "expertise_methodologique" | "communication" | "transport";

export type StatutBesoin = "ouvert" | "partiellement_pourvu" | "pourvu" | "clos";

export type Public = "tout_public" | "enfants" | "jeunes" | "familles" | "seniors" | "scolaires" | "associations" | "acteurs_economiques" | "elus" | "agents";

export type Visibilite = "public" | "membres" | "prive";

export type Publication = "brouillon" | "a_moderer" | "publie" | "refuse";

export type Categorie = "habitant" | "elu" | "agent_collectivite" | "representant_etat" | "association" | "entreprise_ess" | "entreprise" | "professionnel_independant" | "institution_publique" | "collectif_informel" | "reseau_national" | "chercheur" | "autre";

export type Famille4F = "elu" | "agent_territorial" | "etat" | "socio_economique";

export type StatutPhase = "a_venir" | "en_cours" | "realisee" | "abandonnee";

export type TypeInstance = "comite_pilotage" | "assemblee_citoyenne" | "conseil_municipal" | "commission_extra_municipale" | "groupe_de_travail" | "cercle" | "autre";

export type Processus = "consentement" | "consensus" | "vote_majoritaire" | "sondage" | "jugement_majoritaire" | "avis_sollicite" | "deliberation_institutionnelle" | "autre";

export type StatutDecision = "brouillon" | "ouverte" | "close" | "actee" | "a_revoir" | "abandonnee";

export type EtatOccurrence = "programme" | "a_confirmer" | "reprogramme" | "deplace_en_ligne" | "reporte" | "complet" | "annule";

export type ContenuFiche = { titre: string, resume: string, contexte: string, ce_qui_a_ete_fait: string, resultats: string, difficultes: string, conseils: string, portes_entree: Array<Theme>, mesures_pacte: Array<string>, actions: Array<ActionLiee>, acteurs: Array<string>, licence: LicenceFiche, };

export type ActionLiee = { territoire: string, action: string, };

export type LicenceFiche = "CC BY-SA 4.0" | "CC BY 4.0" | "Licence Ouverte 2.0";

export type Fiche = { contenu: ContenuFiche, conflits: Array<Conflit>, territoires: { [key in string]: TerritoireFiche }, contributeurs: Array<string>, dernier_auteur: string | null, relecture: Relecture | null, versions: Array<VersionFiche>, retraits: Array<RetraitFiche>, statut: StatutFiche, erreurs: Array<string>, };

export type TerritoireFiche = { le: number, propose_par: string | null, };

export type Relecture = { par: string, le: number, };

export type VersionFiche = { id: string, tetes: Array<string>, le: number, par: string, };

export type RetraitFiche = { le: number, motif: string, par: string, };

export type StatutFiche = "brouillon" | "relue" | "publiee_territoire" | "publiee_nationale" | "retiree";

export type EditFiche = { "type": "modifier", champs: Partial<ContenuFiche>, } | { "type": "relire" } | { "type": "publier" } | { "type": "retirer", motif: string, } | { "type": "proposer", depuis: string, territoire: string, };

export type FichePubliee = { contenu: ContenuFiche, contributeurs: Array<string>, version: VersionFiche, versions: Array<VersionFiche>, statut: StatutFiche, retrait: RetraitFiche | null, territoires: Array<string>, };

export type DifferenceSection = { section: string, libelle: string, morceaux: Array<Morceau>, };

export type Morceau = { genre: GenreMorceau, texte: string, };

export type GenreMorceau = "egal" | "ajoute" | "retire";

/** A record an edit creates or changes (`creer`, `modifier`). */
export type Enregistrement = Partial<Action> | Partial<Acteur> | Partial<Instance> | Partial<Decision> | Partial<Phase>;

/** The words of experience sheets (`libellesFiches()` of the wasm client). */
export type LibellesFiches = { sections: [string, string][]; statuts: Record<StatutFiche, string>; licences: Record<LicenceFiche, string>; adresses_licences: Record<LicenceFiche, string> };

/** The French label of every enum value (`libelles()` of the wasm client). */
export type Libelles = {
  type_territoire: Record<TypeTerritoire, string>;
  visibilite_territoire: Record<VisibiliteTerritoire, string>;
  theme: Record<Theme, string>;
  reseau: Record<Reseau, string>;
  role_reseau: Record<RoleReseau, string>;
  nature: Record<Nature, string>;
  phase_action: Record<PhaseAction, string>;
  statut: Record<Statut, string>;
  priorite: Record<Priorite, string>;
  mode_participation: Record<ModeParticipation, string>;
  role_porteur: Record<RolePorteur, string>;
  type_besoin: Record<TypeBesoin, string>;
  statut_besoin: Record<StatutBesoin, string>;
  public: Record<Public, string>;
  visibilite: Record<Visibilite, string>;
  publication: Record<Publication, string>;
  categorie: Record<Categorie, string>;
  famille_4f: Record<Famille4F, string>;
  statut_phase: Record<StatutPhase, string>;
  type_instance: Record<TypeInstance, string>;
  processus: Record<Processus, string>;
  statut_decision: Record<StatutDecision, string>;
  etat_occurrence: Record<EtatOccurrence, string>;
};
