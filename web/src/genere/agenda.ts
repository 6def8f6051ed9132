// Generated from sync-core's types by wasm-client (src/domaine.rs);
// do not edit. Regenerate: UPDATE_EXPECT=1 cargo test -p wasm-client typescript

export type Agenda = { 
/**
 * The profile, once set.
 */
profil: Profil | null, 
/**
 * Actions by id.
 */
actions: Record<string, Action>, 
/**
 * Actors by id (public fields).
 */
acteurs: Record<string, Acteur>, 
/**
 * Actors' private contacts by actor id; never exported by feeds.
 */
contacts_prives: Record<string, ContactPrive>, 
/**
 * The roadmap.
 */
feuille_de_route: FeuilleDeRoute, 
/**
 * Governance bodies by id.
 */
instances: Record<string, Instance>, 
/**
 * Decisions by id.
 */
decisions: Record<string, Decision>, 
/**
 * Fields with concurrent values.
 */
conflits: Array<Conflit>, 
/**
 * Records that could not be read (written by a newer or broken
 * client); shown as a warning, never dropped from the document.
 */
erreurs: Array<string>, };

export type Profil = { 
/**
 * Name.
 */
nom: string, 
/**
 * Kind of territory.
 */
type: TypeTerritoire, 
/**
 * Open-data codes.
 */
codes: Codes, 
/**
 * IANA time zone of its rendez-vous.
 */
fuseau: string, 
/**
 * Presentation (collaborative text).
 */
presentation: string, 
/**
 * Themes.
 */
portes_entree: Array<Theme>, 
/**
 * National networks.
 */
reseaux: Array<LienReseau>, 
/**
 * Pacte commitments.
 */
engagements_pacte: Array<Engagement>, 
/**
 * Who may see the territory.
 */
visibilite: VisibiliteTerritoire, 
/**
 * Creation time, milliseconds since the epoch.
 */
cree_le: number | null, 
/**
 * Last change, milliseconds since the epoch.
 */
modifie_le: number | null, 
/**
 * Actor id of the last author.
 */
modifie_par: string | null, 
/**
 * Tombstone: deleted records stay, so a concurrent edit cannot revive
 * half of them.
 */
supprime: boolean, };

export type Codes = { 
/**
 * INSEE codes of its communes.
 */
insee: Array<string>, 
/**
 * SIREN of the body.
 */
siren: string | null, 
/**
 * EPCI code.
 */
code_epci: string | null, };

export type LienReseau = { 
/**
 * Which network.
 */
reseau: Reseau, 
/**
 * What it does here.
 */
role: RoleReseau, 
/**
 * Since when (`AAAA-MM-JJ`).
 */
depuis: string | null, };

export type Engagement = { 
/**
 * Measure code, `M01` to `M32`.
 */
mesure: string, 
/**
 * Level 1 to 3.
 */
niveau: number, };

export type Action = { 
/**
 * Title, at most 140 characters.
 */
titre: string, 
/**
 * Summary, at most 200 characters.
 */
resume: string, 
/**
 * Description (collaborative text), at most 10,000 characters.
 */
description: string, 
/**
 * Nature.
 */
nature: Nature, 
/**
 * Themes.
 */
portes_entree: Array<Theme>, 
/**
 * Free keywords.
 */
mots_cles: Array<string>, 
/**
 * Status.
 */
statut: Statut, 
/**
 * Flag: to discuss.
 */
a_discuter: boolean, 
/**
 * Phase.
 */
phase: PhaseAction, 
/**
 * Progress, 0 to 100.
 */
avancement: number, 
/**
 * Priority.
 */
priorite: Priorite, 
/**
 * Start of a long action (`AAAA-MM-JJ`).
 */
debut: string | null, 
/**
 * Planned end of a long action (`AAAA-MM-JJ`).
 */
fin_prevue: string | null, 
/**
 * When its rendez-vous happen.
 */
rythme: Rythme | null, 
/**
 * Where.
 */
lieu: Lieu | null, 
/**
 * On site or online.
 */
mode_participation: ModeParticipation, 
/**
 * Online link, required when online or mixed.
 */
lien_en_ligne: string | null, 
/**
 * Who carries it.
 */
porteurs: Array<Porteur>, 
/**
 * What it needs, by id.
 */
besoins: Record<string, Besoin>, 
/**
 * Audiences.
 */
publics: Array<Public>, 
/**
 * Accessibility.
 */
accessibilite: Accessibilite, 
/**
 * Publication state.
 */
publication: Publication, 
/**
 * Who sees it.
 */
visibilite: Visibilite, 
/**
 * Parent action.
 */
parent_id: string | null, 
/**
 * Creation time, milliseconds since the epoch.
 */
cree_le: number | null, 
/**
 * Last change, milliseconds since the epoch.
 */
modifie_le: number | null, 
/**
 * Actor id of the last author.
 */
modifie_par: string | null, 
/**
 * Tombstone: deleted records stay, so a concurrent edit cannot revive
 * half of them.
 */
supprime: boolean, };

export type Lieu = { 
/**
 * Short label ("Salle des fêtes").
 */
libelle: string, 
/**
 * Postal address.
 */
adresse: string, 
/**
 * INSEE code of the commune.
 */
code_insee: string | null, 
/**
 * Latitude.
 */
lat: number | null, 
/**
 * Longitude.
 */
lon: number | null, 
/**
 * How to get there ("arrêt de car…").
 */
acces: string, };

export type Porteur = { 
/**
 * The actor.
 */
acteur_id: string, 
/**
 * Their role.
 */
role: RolePorteur, };

export type Besoin = { 
/**
 * Kind of need.
 */
type: TypeBesoin, 
/**
 * What is needed.
 */
description: string, 
/**
 * How many.
 */
quantite: number | null, 
/**
 * Of what unit.
 */
unite: string | null, 
/**
 * By when (`AAAA-MM-JJ`).
 */
echeance: string | null, 
/**
 * Or for which occurrence (its original local start).
 */
occurrence: string | null, 
/**
 * Open or filled.
 */
statut: StatutBesoin, 
/**
 * Who answered, by id.
 */
volontaires: Record<string, Volontaire>, };

export type Volontaire = { 
/**
 * A known actor, or
 */
acteur_id: string | null, 
/**
 * a name, for people without an actor record.
 */
nom: string | null, 
/**
 * When they signed up (`AAAA-MM-JJ`).
 */
date: string | null, 
/**
 * Confirmed by a carrier.
 */
confirme: boolean, };

export type Accessibilite = { 
/**
 * Hearing.
 */
auditif: boolean, 
/**
 * Sight.
 */
visuel: boolean, 
/**
 * Psychic.
 */
psychique: boolean, 
/**
 * Mobility.
 */
moteur: boolean, 
/**
 * Intellectual.
 */
intellectuel: boolean, 
/**
 * Easy-to-read summary available (FALC).
 */
falc: boolean, 
/**
 * Notes.
 */
notes: string, };

export type Acteur = { 
/**
 * Name.
 */
nom: string, 
/**
 * Category.
 */
categorie: Categorie, 
/**
 * Which of the *4 Fantastiques*, if any.
 */
famille_4f: Famille4F | null, 
/**
 * Free roles.
 */
roles: Array<string>, 
/**
 * Skills.
 */
competences: Array<string>, 
/**
 * Shown in public views.
 */
visible_publiquement: boolean, 
/**
 * Creation time, milliseconds since the epoch.
 */
cree_le: number | null, 
/**
 * Last change, milliseconds since the epoch.
 */
modifie_le: number | null, 
/**
 * Actor id of the last author.
 */
modifie_par: string | null, 
/**
 * Tombstone: deleted records stay, so a concurrent edit cannot revive
 * half of them.
 */
supprime: boolean, };

export type ContactPrive = { 
/**
 * E-mail address.
 */
email: string | null, 
/**
 * Phone number.
 */
tel: string | null, };

export type FeuilleDeRoute = { 
/**
 * First year of the horizon.
 */
horizon_debut: string | null, 
/**
 * Last year of the horizon.
 */
horizon_fin: string | null, 
/**
 * Phases by id.
 */
phases: Record<string, Phase>, };

export type Phase = { 
/**
 * Title.
 */
titre: string, 
/**
 * Start (`AAAA-MM-JJ`).
 */
debut: string | null, 
/**
 * End (`AAAA-MM-JJ`).
 */
fin: string | null, 
/**
 * Description (collaborative text).
 */
description: string, 
/**
 * Status.
 */
statut: StatutPhase, 
/**
 * Creation time, milliseconds since the epoch.
 */
cree_le: number | null, 
/**
 * Last change, milliseconds since the epoch.
 */
modifie_le: number | null, 
/**
 * Actor id of the last author.
 */
modifie_par: string | null, 
/**
 * Tombstone: deleted records stay, so a concurrent edit cannot revive
 * half of them.
 */
supprime: boolean, };

export type Instance = { 
/**
 * Name.
 */
nom: string, 
/**
 * Kind.
 */
type: TypeInstance, 
/**
 * When it meets.
 */
rythme: Rythme | null, 
/**
 * Members.
 */
membres: Array<Membre>, 
/**
 * Creation time, milliseconds since the epoch.
 */
cree_le: number | null, 
/**
 * Last change, milliseconds since the epoch.
 */
modifie_le: number | null, 
/**
 * Actor id of the last author.
 */
modifie_par: string | null, 
/**
 * Tombstone: deleted records stay, so a concurrent edit cannot revive
 * half of them.
 */
supprime: boolean, };

export type Membre = { 
/**
 * The actor.
 */
acteur_id: string, 
/**
 * Free role ("président", "secrétaire"…).
 */
role: string, };

export type Decision = { 
/**
 * Title.
 */
titre: string, 
/**
 * Context (collaborative text).
 */
contexte: string, 
/**
 * Body that decided, if any.
 */
instance_id: string | null, 
/**
 * Process.
 */
processus: Processus, 
/**
 * Closing date (`AAAA-MM-JJ`).
 */
cloture: string | null, 
/**
 * State.
 */
statut: StatutDecision, 
/**
 * Outcome.
 */
issue: Issue | null, 
/**
 * Actions it concerns.
 */
actions: Array<string>, 
/**
 * Creation time, milliseconds since the epoch.
 */
cree_le: number | null, 
/**
 * Last change, milliseconds since the epoch.
 */
modifie_le: number | null, 
/**
 * Actor id of the last author.
 */
modifie_par: string | null, 
/**
 * Tombstone: deleted records stay, so a concurrent edit cannot revive
 * half of them.
 */
supprime: boolean, };

export type Issue = { 
/**
 * What was decided.
 */
enonce: string, 
/**
 * When (`AAAA-MM-JJ`).
 */
date: string | null, 
/**
 * Review date (`AAAA-MM-JJ`).
 */
a_revoir_le: string | null, };

export type Conflit = { 
/**
 * Path of the field, such as `actions/a1/lieu/libelle`.
 */
chemin: string, 
/**
 * The concurrent values; the first is the one shown by default.
 */
valeurs: Array<ValeurConcurrente>, };

export type ValeurConcurrente = { 
/**
 * The value.
 */
valeur: unknown, 
/**
 * Actor id of its author, when known.
 */
auteur: string | null, 
/**
 * When it was written, milliseconds since the epoch.
 */
date: number | null, };

export type RendezVous = { 
/**
 * `actions` or `instances`.
 */
collection: Collection, 
/**
 * The record's id.
 */
id: string, 
/**
 * Its title (or name).
 */
titre: string, 
/**
 * When, where, in which state.
 */
occurrence: Occurrence, };

export type Collection = "actions" | "acteurs" | "instances" | "decisions" | "phases";

export type Edit = { "type": "modifier_profil", 
/**
 * Field name to new value; `null` clears an optional field.
 */
champs: Partial<Profil>, } | { "type": "modifier_horizon", 
/**
 * First year.
 */
horizon_debut: string | null, 
/**
 * Last year.
 */
horizon_fin: string | null, } | { "type": "creer", 
/**
 * Where.
 */
collection: Collection, 
/**
 * Its id.
 */
id: string, 
/**
 * The whole record.
 */
valeur: Enregistrement, } | { "type": "modifier", 
/**
 * Where.
 */
collection: Collection, 
/**
 * Which record.
 */
id: string, 
/**
 * Field name to new value; `null` clears an optional field.
 */
champs: Enregistrement, } | { "type": "supprimer", 
/**
 * Where.
 */
collection: Collection, 
/**
 * Which record.
 */
id: string, } | { "type": "definir_contact", 
/**
 * The actor.
 */
acteur_id: string, 
/**
 * The contact.
 */
contact: Partial<ContactPrive>, } | { "type": "definir_besoin", 
/**
 * The action.
 */
action_id: string, 
/**
 * The need's id.
 */
besoin_id: string, 
/**
 * The need.
 */
besoin: Partial<Besoin> & Pick<Besoin, "type">, } | { "type": "ajouter_volontaire", 
/**
 * The action.
 */
action_id: string, 
/**
 * The need.
 */
besoin_id: string, 
/**
 * The volunteer's id.
 */
volontaire_id: string, 
/**
 * The volunteer.
 */
volontaire: Partial<Volontaire>, } | { "type": "modifier_occurrence", 
/**
 * An action or an instance.
 */
collection: Collection, 
/**
 * Its id.
 */
id: string, 
/**
 * Local start of the original occurrence.
 */
origine: string, 
/**
 * What changes for that occurrence.
 */
exception: Partial<Exception>, } | { "type": "pauser", 
/**
 * An action or an instance.
 */
collection: Collection, 
/**
 * Its id.
 */
id: string, 
/**
 * The pause.
 */
pause: Pick<Pause, "du" | "au"> & Partial<Pause>, } | { "type": "scinder_serie", 
/**
 * The action.
 */
action_id: string, 
/**
 * Local start of the first occurrence of the new series.
 */
a_partir_de: string, 
/**
 * Id of the new action (random, from the driver).
 */
nouvel_id: string, 
/**
 * Fields of the new series that differ (time, place…).
 */
champs?: Partial<Action>, };

export type Rythme = { 
/**
 * Local wall time of the first occurrence, in `fuseau`.
 */
debut: string, 
/**
 * IANA time zone of every local time of this rhythm.
 */
fuseau: string, 
/**
 * Length of each occurrence, ISO 8601 (`PT2H`), exact minutes.
 */
duree: string, 
/**
 * The recurrence rule; `None` for a one-off rendez-vous.
 */
regle?: Regle | null, 
/**
 * Extra local starts (RDATE), not counted by `COUNT`.
 */
ajouts?: Array<string>, 
/**
 * Removed occurrences (EXDATE), by original local start.
 */
exclusions?: Array<string>, 
/**
 * Breaks (summer, school holidays).
 */
pauses?: Array<Pause>, 
/**
 * Per-occurrence changes, keyed by the original local start in
 * canonical form (`2025-12-06T18:30:00`).
 */
exceptions?: Record<string, Exception>, 
/**
 * Day by which the organisers must re-confirm an open-ended rhythm.
 */
confirmer_avant?: string | null, 
/**
 * Id of the record whose series this one continues (after a split).
 */
serie_precedente?: string | null, };

export type Regle = { 
/**
 * `FREQ`.
 */
freq: Frequence, 
/**
 * `INTERVAL`, 1–52: every `interval` days, weeks, months or years.
 */
interval?: number, 
/**
 * `BYDAY`.
 */
par_jour?: Array<string>, 
/**
 * `BYMONTHDAY`: 1–31, or -1 for the last day of the month.
 */
par_jour_du_mois?: Array<number>, 
/**
 * `BYMONTH`: 1–12.
 */
par_mois?: Array<number>, 
/**
 * `UNTIL`, inclusive.
 */
jusqu_au?: string, 
/**
 * `COUNT`: how many occurrences the rule makes, counted before
 * exclusions (RFC 5545).
 */
nombre?: number, };

export type Frequence = "DAILY" | "WEEKLY" | "MONTHLY" | "YEARLY";

export type Pause = { 
/**
 * First day without rendez-vous.
 */
du: string, 
/**
 * Last day without rendez-vous.
 */
au: string, 
/**
 * Why ("pause estivale").
 */
motif?: string | null, };

export type Exception = { 
/**
 * Its state.
 */
etat?: EtatOccurrence | null, 
/**
 * New local start (a moved occurrence).
 */
debut?: string | null, 
/**
 * New duration.
 */
duree?: string | null, 
/**
 * Another place.
 */
lieu?: string | null, 
/**
 * Online link for this occurrence.
 */
lien_en_ligne?: string | null, 
/**
 * Why it changed.
 */
motif?: string | null, };

export type Occurrence = { 
/**
 * Nominal local start of the original occurrence: the key of its
 * exception, of exclusions and of pauses. Unchanged by a move and by a
 * spring-forward gap.
 */
origine: string, 
/**
 * Effective local start: after a move, and as the wall clock reads it
 * (02:30 in a gap reads 03:30).
 */
debut: string, 
/**
 * Effective local end.
 */
fin: string, 
/**
 * Effective start instant (RFC 3339 in JSON).
 */
debut_utc: string, 
/**
 * Effective end instant.
 */
fin_utc: string, 
/**
 * State: `programme` unless an exception says otherwise.
 */
etat: EtatOccurrence, 
/**
 * Moved by an exception.
 */
deplacee: boolean, 
/**
 * Place for this occurrence, if an exception changes it.
 */
lieu?: string | null, 
/**
 * Online link for this occurrence, if an exception gives one.
 */
lien_en_ligne?: string | null, 
/**
 * Reason of the exception.
 */
motif?: string | null, 
/**
 * Set only by [`Rythme::occurrences_et_retraits`]: why it is removed.
 */
retrait?: Retrait | null, };

export type Retrait = { "type": "exclue" } | { "type": "en_pause", 
/**
 * The pause's reason.
 */
motif: string | null, };

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

/** A record an edit creates or changes (`creer`, `modifier`). */
export type Enregistrement = Partial<Action> | Partial<Acteur> | Partial<Instance> | Partial<Decision> | Partial<Phase>;

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
