/** AWS limits that a plugin definition and its results must respect. Sources: shared AWS references. */
export const CODEPIPELINE = {
  providerPattern: /^[0-9A-Za-z_-]+$/,
  providerMax: 35,
  /** The CodePipeline User Guide and the Jenkins plugin still say 25; longer names work with the API. */
  providerRecommendedMax: 25,
  versionPattern: /^[0-9A-Za-z_-]+$/,
  versionMax: 9,
  propertiesMax: 10,
  propertyNameMax: 50,
  propertyDescriptionMax: 160,
  configurationValueMax: 1000,
  queryableValuePattern: /^[a-zA-Z0-9_-]+$/,
  queryableValueMax: 50,
  artifactCountMax: 5,
  urlTemplateMax: 2048,
  tagsMax: 50,
  tagKeyMax: 128,
  tagValueMax: 256,
  continuationTokenMax: 2048,
  summaryMax: 2048,
  externalExecutionIdMax: 1500,
  failureMessageMax: 5000,
  revisionMax: 1500,
  changeIdentifierMax: 100,
  revisionSummaryMax: 2048,
  outputVariableKeyPattern: /^[A-Za-z0-9@_-]+$/,
  outputVariablesBytesMax: 122_880,
} as const;

export const APPCONFIG = {
  namePattern: /^[^/#:\n]{1,64}$/,
  parametersMax: 10,
  descriptionMax: 1024,
  actionPointsMax: 5,
  actionNameMax: 64,
  parameterValueMax: 2048,
} as const;
